// Durable directories from Node: open / flush / compact / close and their async twins, the
// lock naming its holder, a torn journal tail cut and reported, damage before the end refused
// and recovered to a point in time, special files refused, a write the disk refuses not
// applied, overlapping compactions, async writers sharing fsyncs.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')
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

test('damage before the end is refused, then recovered to a point in time', () => {
  const dir = scratch()
  const a = Audience.open(dir, { sync: 'always' })
  for (let n = 0; n < 50; n++) a.track('ada', 'view', NOW, { n })
  a.close()
  const journal = path.join(dir, 'journal')
  const bytes = fs.readFileSync(journal)
  bytes[Math.floor(bytes.length / 3)] ^= 0x10
  fs.writeFileSync(journal, bytes)
  assert.throws(() => Audience.open(dir), { code: 'SEGCORE_CORRUPT', message: /journal offset \d+: a damaged frame, followed by \d+ intact frames/ })
  assert.deepEqual(fs.readFileSync(journal), bytes, 'a refused open cuts nothing')
  assert.throws(() => Audience.open(dir, { recover: 'later' }), { code: 'SEGCORE_ARGUMENT', message: /options.recover/ })
  const b = Audience.open(dir, { recover: 'point_in_time' })
  const report = b.openReport
  const kept = report.recordsReplayed
  assert.equal(b.count(`did view at least ${kept} times`, NOW), 1)
  assert.equal(b.count(`did view at least ${kept + 1} times`, NOW), 0)
  assert.ok(kept >= 10 && kept < 25, `kept ${kept}`)
  assert.match(report.damage, /intact frames/)
  assert.equal(path.dirname(report.setAside), dir)
  assert.deepEqual(fs.readFileSync(report.setAside), bytes.subarray(bytes.length - report.bytesCut))
  b.close()
})

test('an empty path and special files are refused, not blocked on', () => {
  assert.throws(() => Audience.open(''), { code: 'SEGCORE_INVALID_VALUE', message: /empty path/ })
  const dir = scratch()
  Audience.open(dir).close()
  const journal = path.join(dir, 'journal')
  fs.renameSync(journal, path.join(dir, 'kept'))
  execFileSync('mkfifo', [journal])
  assert.throws(() => Audience.open(dir), { code: 'SEGCORE_CORRUPT', message: /FIFO/ })
  fs.unlinkSync(journal)
  fs.renameSync(path.join(dir, 'kept'), journal)
  Audience.open(dir).close()
})

test('a write the disk refuses is not applied', () => {
  const dir = scratch()
  // A child writes under a file-size limit (SIGXFSZ ignored by the shell, so the write fails
  // with EFBIG) until a write is refused, then checks memory and reports what was acknowledged.
  const child = `
    const { Audience } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const a = Audience.open(${JSON.stringify(dir)}, { sync: 'always' })
    let n = 0
    try {
      for (; n < 100000; n++) a.track('ada', 'view', '${NOW}', { n })
    } catch (e) {
      if (e.code !== 'SEGCORE_IO') throw e
    }
    if (a.count('did view at least ' + (n + 1) + ' times', '${NOW}') !== 0) throw new Error('the refused write is in memory')
    if (a.count('did view at least ' + n + ' times', '${NOW}') !== 1) throw new Error('an acknowledged write is missing')
    try { a.upsert('bo', { age: 1 }); throw new Error('accepted after a failure') } catch (e) { if (e.code !== 'SEGCORE_IO') throw e }
    if (a.size !== 1) throw new Error('a refused write is in memory')
    console.log(n)
  `
  const done = spawnSync('sh', ['-c', 'trap "" XFSZ; ulimit -f 16; exec "$0" -e "$1"', process.execPath, child], { encoding: 'utf8' })
  assert.equal(done.status, 0, done.stderr)
  const acknowledged = Number(done.stdout.trim())
  assert.ok(acknowledged > 10, done.stdout)
  const b = Audience.open(dir)
  assert.equal(b.count(`did view at least ${acknowledged} times`, NOW), 1)
  assert.equal(b.count(`did view at least ${acknowledged + 1} times`, NOW), 0)
  b.close()
})

test('overlapping compactions all succeed while writes go on', async () => {
  const dir = scratch()
  const a = Audience.open(dir)
  const writes = Array.from({ length: 4 }, (_, w) =>
    a.trackManyAsync(Array.from({ length: 100 }, (_, i) => ({ id: `w${w}-${i}`, name: 'view', at: NOW }))))
  const compactions = Array.from({ length: 20 }, () => a.compactAsync())
  await Promise.all([...writes, ...compactions])
  assert.equal(a.generation, 20)
  a.close()
  const b = Audience.open(dir)
  assert.equal(b.size, 400)
  b.close()
})
