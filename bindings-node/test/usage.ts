// A typed use of the package: `tsc --noEmit --strict` over this file must pass, and would fail
// if index.d.ts lost or mistyped a method.
import { Audience, ErrorCode, EventRow, PlanStep, version } from '..'

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
  return [await shop.countAsync('did purchase'), await audience.membersAsync('swedes'), await audience.memberSlotsAsync('swedes', new Date())]
}

export const checked = [count, ids, slots, inside, segments, plan.children, definitions, size, v, loaded, parseCode]
