// A typed use of the package: `tsc --noEmit --strict` over this file must pass, and would fail
// if index.d.ts lost or mistyped a method.
import { Advice, Assignment, Audience, CoOccurrence, Comparison, ContactMapping, ErrorCode, EventRow, ExportReport, IngestReport, Ingested, Kpis, Rejection, PlanStep, Recommendation, Testability, Transition, Why, holdoutFraction, version, wilsonInterval } from '..'

const audience = new Audience('Europe/Stockholm')
audience.upsert('ada', { country: 'SE', age: 36, vip: true, interests: ['yoga'], signedUp: new Date() })
audience.tag('ada', 'vip')
audience.upsert('bob', { country: 'DK' }, ['vip', 'interest:outdoor'], new Date())
audience.track('ada', 'purchase', new Date(), { amount: 120 }, { category: 'shoes', size: 42 })
audience.setConsent('ada', 'email', true, Date.now())
audience.define('swedes', 'country == "SE"')

const count: number = audience.count('swedes', new Date())
const ids: string[] = audience.members('swedes', '2024-06-02T12:00:00Z')
const slots: Uint32Array = audience.memberSlots('swedes', Date.now())
const inside: boolean = audience.matches('ada', 'swedes')
const segments: string[] = audience.segmentsOf('ada')
const plan: PlanStep = audience.explain('segment swedes and did purchase')
const definitions: Record<string, string> = audience.segments()
const size: number = audience.size
const v: string = version()
const shop: Audience = Audience.sampleShop(100, 5, true)
const rows: EventRow[] = [{ id: 'ada', name: 'purchase', at: Date.now(), values: { amount: 1 }, properties: { sku: 'A1' } }]
const loaded: number = audience.trackMany(rows)
const parseCode: ErrorCode = ErrorCode.SEGCORE_PARSE

export async function later(): Promise<[number, string[], Uint32Array]> {
  await audience.trackManyAsync(rows)
  const sent: Assignment = await audience.assignAsync('hero')
  const advanced: Transition[] = await audience.advanceToAsync(new Date())
  void [sent.holdout, advanced]
  return [await shop.countAsync('did purchase'), await audience.membersAsync('swedes'), await audience.memberSlotsAsync('swedes', new Date())]
}

audience.startLive(new Date())
const subscription: number = audience.subscribe((moved: Transition[]) => {
  const first: string | undefined = moved[0]?.direction
  return first
})
const due: Date | null = audience.nextChangeAt()
const moved: Transition[] = audience.advanceTo(due ?? new Date())
const drained: Transition[] = audience.drainTransitions()
const clock: Date | null = audience.clock
const live: string[] = audience.liveMembers('swedes')
audience.defineDecision('hero', { rules: [{ segment: 'swedes', variant: 'se' }], default: 'other', variants: { se: {}, other: {} } })
const outcome = audience.decide('ada', 'hero')
const chosen: 'rule' | 'default' | 'holdout' = outcome.chosenBy
const send: { variants: Record<string, string[]>, holdout: string[] } = audience.assign('hero')
const why: Why = audience.why('ada', 'swedes')
const message: string = audience.render('ada', 'Hej {{ first_name | default("där") }}')
const fraction: number = holdoutFraction('hero', 'ada')
const liveCode: ErrorCode = ErrorCode.SEGCORE_QUEUE_FULL
audience.save('/tmp/usage.segcore')
const reloaded: Audience = Audience.load('/tmp/usage.segcore')

export const checked = [count, ids, slots, inside, segments, plan.children, definitions, size, v, loaded, parseCode,
  subscription, moved, drained, clock, live, chosen, send, why.parts, message, fraction, liveCode, reloaded, audience.unsubscribe(subscription)]

async function durable(dir: string): Promise<number> {
  const a = await Audience.openAsync(dir, { sync: 'group' })
  const b: Audience = Audience.open(dir + '-2', { sync: 'never' })
  const report = a.openReport
  const replayed: number = report === null ? 0 : report.recordsReplayed
  a.flush()
  await a.compactAsync()
  const generation: number | null = a.generation
  a.setTimeZone('Europe/Stockholm')
  a.close()
  b.close()
  return replayed + (generation ?? 0)
}
void durable

async function insight(a: Audience): Promise<number> {
  const outcome = { kind: 'converts' as const, predicate: 'did purchase in last 30d', at: new Date() }
  const kpis: Kpis = await a.kpisAsync(['se'], outcome)
  const advice: Advice = a.advise(outcome, 0.05, { alpha: 0.05 })
  const together: CoOccurrence = a.coOccurrence('purchase', 'sku', 0.01)
  const picks: Array<Recommendation> = a.recommend('c0000001', together, 3)
  const interval: Array<number> | null = wilsonInterval(3, 10)
  const t: Testability = a.testability('se', { baseline: 0.1, minimumEffect: 0.02 }, 'page_view')
  const revenue = { kind: 'sum' as const, event: 'purchase', value: 'amount', start: 0, end: Date.now() }
  const c: Comparison | null = a.compare('se', revenue)
  return kpis.rows.length + advice.findings.length + picks.length + (interval?.[0] ?? 0) + t.needed + (c?.pValue ?? 0)
}
void insight

async function ingest(a: Audience, file: string): Promise<number> {
  const done: Ingested = a.ingest({ type: 'track', userId: 'u', event: 'e', timestamp: new Date() })
  const report: IngestReport = a.ingestJsonl(file, { onError: 'fail', maxLineBytes: 4096 })
  const later: IngestReport = await a.ingestJsonlAsync(file)
  const mapping: ContactMapping = { preset: 'mailchimp', attributes: { Orders: ['orders', 'number'], Name: 'name' }, subscribed: ['email'] }
  const contacts: IngestReport = await a.loadContactsAsync(file, mapping, { at: new Date(), onError: 'skip' })
  const exported: ExportReport = a.export('vips', { channel: 'email', columns: ['id', 'email'], format: 'csv' })
  const first: Rejection | undefined = report.rejections[0]
  const text: string | undefined = exported.text ?? undefined
  void first, text, done.valuesNotStored
  return later.loaded + contacts.rejected + exported.exported + report.loadedByType['track']
}
void ingest
