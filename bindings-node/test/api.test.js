// The API: writes, queries, instants, and the package's metadata.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Audience, version } = require('..')

const NOW = '2024-06-02T12:00:00Z'

function shop() {
  const a = new Audience('Europe/Stockholm')
  a.upsert('ada', { country: 'SE', age: 36, newsletter: true, interests: ['yoga'] })
  a.upsert('bob', { country: 'DK', age: 52 })
  a.upsert('cy', { country: 'SE', age: 19 })
  a.tag('ada', 'vip', '2024-05-01T00:00:00Z')
  a.track('ada', 'purchase', new Date('2024-05-30T10:00:00Z'), { amount: 120 }, { category: 'shoes' })
  a.track('ada', 'purchase', Date.parse('2024-06-01T10:00:00Z'), { amount: 80 }, { category: 'gear' })
  a.track('bob', 'purchase', '2024-01-10T10:00:00Z', { amount: 700 })
  a.setConsent('ada', 'email', true, '2024-01-01T00:00:00Z')
  a.define('swedes', 'country == "SE"')
  a.define('recent_buyers', 'did purchase in last 30d')
  return a
}

test('the version is the crate version', () => {
  const cargo = fs.readFileSync(path.join(__dirname, '..', '..', 'Cargo.toml'), 'utf8')
  assert.equal(version(), /^version = "([^"]+)"/m.exec(cargo)[1])
  assert.equal(version(), require('../package.json').version)
})

test('queries by name or by text', () => {
  const a = shop()
  assert.deepEqual(a.members('swedes', NOW), ['ada', 'cy'])
  assert.deepEqual(a.members('country == "SE" and age > 20', NOW), ['ada'])
  assert.equal(a.count('segment swedes and did purchase', NOW), 1)
  assert.equal(a.count('sum(purchase.amount) > 500', NOW), 1)
  assert.equal(a.matches('ada', 'recent_buyers', NOW), true)
  assert.equal(a.matches('bob', 'recent_buyers', NOW), false)
  assert.deepEqual(a.segmentsOf('ada', NOW), ['recent_buyers', 'swedes'])
  const slots = a.memberSlots('swedes', NOW)
  assert.ok(slots instanceof Uint32Array)
  assert.deepEqual([...slots], [0, 2])
})

test('instants are Dates, ISO strings or epoch milliseconds', () => {
  const a = shop()
  for (const now of [NOW, new Date(NOW), Date.parse(NOW)]) {
    assert.equal(a.count('recent_buyers', now), 1)
  }
  assert.equal(a.count('recent_buyers', '2024-07-02T12:00:00Z'), 0)
  assert.equal(a.count('recent_buyers'), 0) // now
  a.upsert('ada', { signedUp: new Date('2020-01-01T00:00:00Z') })
  assert.deepEqual(a.members('signedUp before @2021-01-01', NOW), ['ada'])
})

test('writes change answers', () => {
  const a = shop()
  assert.equal(a.size, 3)
  assert.equal(a.has('ada'), true)
  assert.equal(a.untag('ada', 'vip'), true)
  assert.equal(a.untag('ada', 'vip'), false)
  assert.equal(a.erase('cy'), true)
  assert.equal(a.erase('cy'), false)
  assert.deepEqual(a.members('swedes', NOW), ['ada'])
  a.setConsent('bob', 'email', true, '2024-02-01T00:00:00Z')
  assert.deepEqual(a.members('consent email', NOW), ['ada', 'bob'])
  assert.equal(a.timeZone, 'Europe/Stockholm')
})

test('segments are defined, listed and removed', () => {
  const a = shop()
  a.define('old_swedes', 'segment swedes and age > 30')
  assert.equal(a.segments().old_swedes, 'segment swedes and age > 30')
  assert.equal(a.remove('old_swedes'), 'segment swedes and age > 30')
  assert.equal(a.segments().old_swedes, undefined)
})

test('explain returns the plan', () => {
  const plan = shop().explain('country == "SE" and did purchase in last 30d', NOW)
  assert.equal(plan.method, 'and')
  assert.equal(plan.actual, 1)
  const methods = plan.children.map((s) => s.method)
  assert.ok(methods.includes('index') && methods.includes('buckets'), methods.join())
})

test('schema declarations let segments refer to names before data arrives', () => {
  const a = new Audience()
  a.declareAttribute('score', 'number')
  a.declareEvent('refund')
  a.declareEventProperty('refund', 'amount', 'number')
  a.declareTagNamespace('quiz')
  a.declareChannel('whatsapp')
  a.define('refunders', 'sum(refund.amount) > 10 and score > 1 and consent whatsapp and tag "quiz:*"')
  assert.equal(a.count('refunders', NOW), 0)
  assert.throws(() => a.declareAttribute('x', 'integer'), { code: 'SEGCORE_INVALID_VALUE' })
})

test('async twins answer like the synchronous calls, off the main thread', async () => {
  const a = shop()
  assert.equal(await a.countAsync('swedes', NOW), a.count('swedes', NOW))
  assert.deepEqual(await a.membersAsync('sum(purchase.amount) > 100', NOW), ['ada', 'bob'])
  const slots = await a.memberSlotsAsync('swedes', new Date(NOW))
  assert.ok(slots instanceof Uint32Array)
  assert.deepEqual([...slots], [0, 2])
  // Many at once, with writes in between: each sees a whole audience.
  const pending = []
  for (let i = 0; i < 50; i++) {
    a.upsert(`p${i}`, { country: 'SE', age: i })
    pending.push(a.countAsync('country == "SE"', NOW))
  }
  const counts = await Promise.all(pending)
  assert.ok(counts.every((n) => n >= 2 && n <= 52))
  assert.equal(await a.countAsync('country == "SE"', NOW), 52)
})

test('async twins reject with the same codes', async () => {
  const a = shop()
  await assert.rejects(a.countAsync('countyr == "SE"', NOW), { code: 'SEGCORE_UNKNOWN_NAME' })
  await assert.rejects(a.membersAsync('age >', NOW), { code: 'SEGCORE_PARSE', line: 1, column: 6 })
  await assert.rejects(a.memberSlotsAsync('swedes', 'yesterday'), { code: 'SEGCORE_ARGUMENT' })
})

test('bulk event loads, and their async twin', async () => {
  const a = new Audience()
  const rows = []
  for (let i = 0; i < 1000; i++) {
    rows.push({ id: `v${i % 100}`, name: 'purchase', at: Date.parse(NOW) - i * 60_000, values: { amount: i % 50 }, properties: { sku: `S${i % 7}` } })
  }
  assert.equal(a.trackMany(rows.slice(0, 500)), 500)
  assert.equal(await a.trackManyAsync(rows.slice(500)), 500)
  assert.equal(a.size, 100)
  assert.equal(a.count('did purchase at least 10 times', NOW), 100)
  assert.equal(a.count('did purchase where sku == "S3"', NOW), 100)
  assert.equal(a.trackMany([{ id: 'w', name: 'visit', at: '2024-06-01T00:00:00Z' }, { id: 'w', name: 'visit' }]), 2)
})

test('a bad bulk row names its index, and the rows before it stay', async () => {
  const a = new Audience()
  const rows = [
    { id: 'x', name: 'purchase', at: NOW, values: { amount: 1 } },
    { id: 'y', name: 'purchase', at: NOW, properties: { amount: 'lots' } },
  ]
  assert.throws(() => a.trackMany(rows), { code: 'SEGCORE_SCHEMA', row: 1 })
  assert.equal(a.has('x'), true)
  assert.equal(a.has('y'), false)
  await assert.rejects(a.trackManyAsync([{ id: 'z', name: 'e', at: 'yesterday' }]), {
    code: 'SEGCORE_ARGUMENT',
    message: /^row 0:/,
  })
  await assert.rejects(a.trackManyAsync([rows[1]]), { code: 'SEGCORE_SCHEMA', row: 0 })
})

test('the error codes are listed in the package', () => {
  const { ErrorCode } = require('..')
  assert.equal(ErrorCode.SEGCORE_PARSE, 'SEGCORE_PARSE')
  assert.equal(ErrorCode.SEGCORE_QUEUE_FULL, 'SEGCORE_QUEUE_FULL')
  assert.equal(ErrorCode.SEGCORE_LOCKED, 'SEGCORE_LOCKED')
  assert.equal(ErrorCode.SEGCORE_VERSION, 'SEGCORE_VERSION')
  assert.equal(ErrorCode.SEGCORE_INPUT, 'SEGCORE_INPUT')
  assert.equal(ErrorCode.SEGCORE_INTERNAL, 'SEGCORE_INTERNAL')
  assert.equal(Object.keys(ErrorCode).length, 20)
})

test('epoch milliseconds are read exactly', () => {
  const a = new Audience()
  a.declareEvent('visit')
  a.define('recent', 'did visit in last 1s')
  a.startLive(1764541338677)
  a.track('ann', 'visit', 1764541338677)
  a.drainTransitions()
  const [left] = a.advanceTo(1764541340000)
  assert.equal(left.at, '2025-11-30T22:22:19.677000001Z')
  assert.equal(left.atMs, 1764541339678)
})

test('save and load a file, atomically', () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segcore-'))
  try {
    const a = new Audience()
    a.upsert('ada', { country: 'SE' })
    a.define('swedes', 'country == "SE"')
    const file = path.join(dir, 'shop.segcore')
    a.save(file)
    assert.deepEqual(fs.readdirSync(dir), ['shop.segcore'])
    assert.deepEqual(Audience.load(file).members('swedes'), ['ada'])
    assert.throws(() => Audience.load(path.join(dir, 'nope')), { code: 'SEGCORE_IO' })
    fs.writeFileSync(path.join(dir, 'junk'), 'not an image')
    assert.throws(() => Audience.load(path.join(dir, 'junk')), { code: 'SEGCORE_CORRUPT' })
    assert.throws(() => a.save(path.join(dir, 'no', 'dir', 'x')), { code: 'SEGCORE_IO' })
    assert.throws(() => a.save(42), { code: 'SEGCORE_ARGUMENT' })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
