// Durable directories from Node: open / flush / compact / close and their async twins, the
// lock naming its holder, a torn journal tail cut and reported, async writers sharing fsyncs.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Audience } = require('..')

const NOW = '2024-06-01T00:00:00Z'

function scratch() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'segcore-durable-'))
}

test('writes survive reopening, and compaction folds the journal', () => {
  const dir = scratch()
  const a = Audience.open(dir)
  assert.equal(a.directory, dir)
  assert.equal(a.generation, 0)
  a.upsert('ada', { country: 'SE' }, ['vip'], NOW)
  a.track('ada', 'purchase', NOW, { amount: 120 })
  a.define('buyers', 'did purchase')
  a.defineDecision('hero', { rules: [{ segment: 'buyers', variant: 'a' }], default: 'b', variants: { a: {}, b: {} } })
  a.upsert('bo', { age: 17 })
  assert.equal(a.erase('bo'), true)
  a.close()
  // Closed: readable, writes refused.
  assert.equal(a.size, 1)
  assert.throws(() => a.upsert('cy', { age: 1 }), { code: 'SEGCORE_IO', message: /closed/ })

  const b = Audience.open(dir, { sync: 'always' })
  assert.deepEqual(b.openReport, {
    generation: 0,
    snapshotProfiles: 0,
    recordsReplayed: 6,
    bytesCut: 0,
    staleJournalReplaced: false,
  })
  assert.deepEqual(b.members('buyers', NOW), ['ada'])
  assert.equal(b.decide('ada', 'hero', NOW).variant, 'a')
  b.compact()
  assert.equal(b.generation, 1)
  b.close()
  const c = Audience.open(dir)
  assert.equal(c.openReport.recordsReplayed, 0)
  assert.equal(c.openReport.snapshotProfiles, 1)
  c.close()
})

test('an in-memory audience has no directory', () => {
  const a = new Audience()
  assert.equal(a.directory, null)
  assert.equal(a.openReport, null)
  assert.equal(a.generation, null)
  a.flush()
  a.close()
  assert.throws(() => a.compact(), { code: 'SEGCORE_INVALID_VALUE' })
})

test('a second writer is told who holds the directory', () => {
  const dir = scratch()
  const a = Audience.open(dir)
  assert.throws(() => Audience.open(dir), (e) => e.code === 'SEGCORE_LOCKED' && e.pid === process.pid)
  a.close()
  Audience.open(dir).close()
  assert.throws(() => Audience.open(dir, { sync: 'sometimes' }), { code: 'SEGCORE_ARGUMENT', message: /options.sync/ })
  assert.throws(() => Audience.open(dir, 'always'), { code: 'SEGCORE_ARGUMENT' })
})

test('a torn tail is cut and reported', () => {
  const dir = scratch()
  const a = Audience.open(dir)
  for (let n = 0; n < 3; n++) a.track('ada', 'view', NOW, { n })
  a.close()
  const journal = path.join(dir, 'journal')
  const bytes = fs.readFileSync(journal)
  fs.writeFileSync(journal, bytes.subarray(0, bytes.length - 5))
  const b = Audience.open(dir)
  assert.equal(b.openReport.recordsReplayed, 2)
  assert.ok(b.openReport.bytesCut > 0)
  assert.equal(b.count('did view at least 2 times', NOW), 1)
  assert.equal(b.count('did view at least 3 times', NOW), 0)
  b.close()
})

test('openAsync, compactAsync and async writers', async () => {
  const dir = scratch()
  const a = await Audience.openAsync(dir)
  const rows = (w) => Array.from({ length: 200 }, (_, i) => ({ id: `w${w}-${i}`, name: 'view', at: NOW }))
  // Loads on worker threads: each one batch, their fsyncs shared when they overlap.
  const counts = await Promise.all([0, 1, 2, 3].map((w) => a.trackManyAsync(rows(w))))
  assert.deepEqual(counts, [200, 200, 200, 200])
  const reading = a.countAsync('did view', NOW)
  await a.compactAsync()
  assert.equal(await reading, 800)
  a.close()
  await assert.rejects(Audience.openAsync(path.join(dir, 'journal')), { code: 'SEGCORE_IO' })
  const b = await Audience.openAsync(dir)
  assert.equal(b.size, 800)
  assert.equal(b.generation, 1)
  b.close()
})

test('sync never keeps what flush wrote', () => {
  const dir = scratch()
  const a = Audience.open(dir, { sync: 'never' })
  a.trackMany(Array.from({ length: 500 }, (_, i) => ({ id: `p${i}`, name: 'view', at: NOW })))
  a.flush()
  a.close()
  const b = Audience.open(dir)
  assert.equal(b.size, 500)
  b.close()
})
