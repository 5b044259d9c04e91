// Ingest and export from Node: the shared corpus in testdata/ingest (the same files, counts,
// rejections and queries the Rust, Python and command-line suites check), one message at a
// time with live transitions, the async loaders, contact mappings and consent-safe exports.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Audience } = require('..')

const CORPUS = path.join(__dirname, '..', '..', 'testdata', 'ingest')
const EXPECTED = JSON.parse(fs.readFileSync(path.join(CORPUS, 'expected.json'), 'utf8'))

function contactsArgs() {
  const c = EXPECTED.contacts
  const subscribed = Object.entries(c.consent_for_every_row).filter(([, g]) => g).map(([ch]) => ch)
  return [path.join(CORPUS, c.file), { preset: c.preset, subscribed }, { at: c.at }]
}

function asPlain(r) {
  return {
    read: r.read,
    loaded: r.loaded,
    rejected: r.rejected,
    merged: r.merged,
    values_not_stored: r.valuesNotStored,
    loaded_by_type: r.loadedByType,
    rejections: r.rejections.map((x) => [x.line, x.reason]),
  }
}

function checkReport(report, key) {
  const got = asPlain(report)
  const want = Object.fromEntries(Object.keys(got).map((k) => [k, EXPECTED[key][k]]))
  assert.deepEqual(got, want, key)
  assert.equal(report.read, report.loaded + report.rejected)
}

function checkQueries(a) {
  for (const q of EXPECTED.queries) {
    assert.deepEqual(a.members(q.predicate, q.now).sort(), q.members, q.predicate)
  }
}

test('the shared corpus loads with exact counts', () => {
  const a = new Audience()
  const m = EXPECTED.messages
  checkReport(a.ingestJsonl(path.join(CORPUS, m.file), { maxLineBytes: m.max_line_bytes }), 'messages')
  checkReport(a.loadContacts(...contactsArgs()), 'contacts')
  checkQueries(a)
})

test('the async loaders give the same reports', async () => {
  const a = new Audience()
  const m = EXPECTED.messages
  checkReport(await a.ingestJsonlAsync(path.join(CORPUS, m.file), { maxLineBytes: m.max_line_bytes }), 'messages')
  checkReport(await a.loadContactsAsync(...contactsArgs()), 'contacts')
  checkQueries(a)
  await assert.rejects(a.ingestJsonlAsync(path.join(CORPUS, 'missing.jsonl')), { code: 'SEGCORE_IO' })
  await assert.rejects(a.loadContactsAsync(path.join(CORPUS, 'contacts.csv'), { preset: 'mailchim' }), {
    code: 'SEGCORE_UNKNOWN_NAME',
    message: /did you mean `mailchimp`/,
  })
})

test('a failing load loads nothing', () => {
  const a = new Audience()
  const m = EXPECTED.messages
  const [line, reason] = m.rejections[0]
  assert.throws(
    () => a.ingestJsonl(path.join(CORPUS, m.file), { onError: 'fail', maxLineBytes: m.max_line_bytes }),
    (e) => e.code === 'SEGCORE_INPUT' && e.line === line && e.reason === reason && e.origin.endsWith('messages.jsonl'),
  )
  const [file, mapping] = contactsArgs()
  assert.throws(() => a.loadContacts(file, mapping, { onError: 'fail' }), { code: 'SEGCORE_INPUT', line: 6 })
  assert.equal(a.size, 0)
  assert.throws(() => a.ingestJsonl(file, { onError: 'maybe' }), { code: 'SEGCORE_INVALID_VALUE' })
})

test('one message at a time, with Dates, and live transitions', () => {
  const a = new Audience()
  a.ingest({ type: 'identify', userId: 'ada', traits: { plan: 'pro' }, timestamp: new Date('2024-06-01T09:00:00Z') })
  a.declareEvent('Order Completed')
  a.define('buyers', 'did `Order Completed`')
  a.startLive('2024-06-01T10:00:00Z')
  const seen = []
  a.subscribe((moved) => seen.push(...moved.map((t) => `${t.profile} ${t.direction} ${t.segment}`)))
  const done = a.ingest(
    '{"type":"track","userId":"ada","event":"Order Completed","properties":{"revenue":"9.90","items":[{"sku":"x"}]},"timestamp":"2024-06-01T09:30:00Z"}',
  )
  assert.deepEqual(done, { type: 'track', id: 'ada', merged: false, valuesNotStored: 1 })
  assert.deepEqual(seen, ['ada entered buyers'])
  assert.throws(
    () => a.ingest({ type: 'track', userId: 'ada', event: 'x', timestamp: 'yesterday' }),
    (e) =>
      e.code === 'SEGCORE_INPUT' &&
      e.origin === 'message' &&
      e.line === undefined &&
      e.message === 'message: `timestamp` is "yesterday", not an ISO 8601 instant',
  )
  // A number is a wrong argument, not a malformed message.
  assert.throws(() => a.ingest(42), { code: 'SEGCORE_ARGUMENT', message: 'message must be an object or JSON text, not a number' })
  assert.throws(() => a.ingest(undefined), { code: 'SEGCORE_ARGUMENT' })
})

test('contacts with a mapping, and consent-safe exports', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segcore-ingest-'))
  const csv = path.join(dir, 'list.csv')
  fs.writeFileSync(csv, 'Email,Orders,Tags,Newsletter\r\nada@example.com,3,vip|shoes,yes\r\nbob@example.com,many,,no\r\n')
  const a = new Audience()
  const r = a.loadContacts(
    csv,
    { id: 'Email', idAttribute: 'email', attributes: { Orders: ['orders', 'number'] }, tags: 'Tags', tagSeparator: '|', consent: { Newsletter: 'email' } },
    { at: '2024-06-01T00:00:00Z' },
  )
  assert.deepEqual([r.read, r.loaded, r.rejected], [2, 1, 1])
  assert.deepEqual(r.rejections, [{ line: 3, reason: '"Orders" is "many", not a number' }])
  assert.throws(() => a.loadContacts(csv, { idd: 'Email' }), { code: 'SEGCORE_INVALID_VALUE', message: /unknown field `idd`/ })

  const b = new Audience()
  b.ingestJsonl(path.join(CORPUS, 'messages.jsonl'), { maxLineBytes: 1024 })
  b.loadContacts(...contactsArgs())
  const now = '2024-06-02T00:00:00Z'
  const report = b.export('email exists', { columns: ['id', 'email'], suppress: ['DEE@example.com'], now })
  assert.deepEqual(
    [report.members, report.exported, report.consentWithdrawn, report.noConsent, report.suppressed],
    [7, 5, 1, 0, 1],
  )
  assert.equal(report.text.split('\n')[1], 'ada,ada@example.com')
  const target = path.join(dir, 'buyers.jsonl')
  const written = b.export('did `Order Completed`', { format: 'jsonl', columns: ['id', 'plan'], path: target, now })
  assert.equal(written.text, undefined)
  assert.deepEqual(
    fs.readFileSync(target, 'utf8').trim().split('\n').map((l) => JSON.parse(l)),
    [{ id: 'ada', plan: 'pro' }, { id: 'bob', plan: 'free' }],
  )
  assert.throws(() => b.export('email exists', { channel: 'emial' }), { code: 'SEGCORE_UNKNOWN_NAME', message: /did you mean `email`/ })
})

test('exports neutralize formulas and touch nothing outside the audience', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segcore-export-'))
  const now = '2024-06-02T00:00:00Z'
  const a = new Audience()
  a.upsert('eve', { first_name: '@SUM(A1)', n: -3 })
  a.setConsent('eve', 'email', true, now)
  const options = { columns: ['id', 'first_name', 'n'], now }
  assert.equal(a.export('consent email', options).text.split('\n')[1], "eve,'@SUM(A1),-3")
  assert.equal(a.export('consent email', { ...options, neutralizeFormulas: false }).text.split('\n')[1], 'eve,@SUM(A1),-3')
  assert.throws(() => a.export('consent email', { neutralizeFormulas: 'no' }), { code: 'SEGCORE_ARGUMENT' })

  const victim = path.join(dir, 'victim')
  fs.writeFileSync(victim, 'precious')
  const target = path.join(dir, 'list.csv')
  fs.symlinkSync(victim, target)
  assert.throws(() => a.export('consent email', { path: target, now }), { code: 'SEGCORE_IO', message: /symbolic link/ })
  assert.ok(fs.lstatSync(target).isSymbolicLink())
  fs.unlinkSync(target)
  fs.symlinkSync(victim, `${target}.partial`)
  a.export('consent email', { path: target, now })
  assert.equal(fs.readFileSync(target, 'utf8'), 'id\neve\n')
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious')
})
