// Hostile-input cases for the Node package. Each runs in a child process of its own
// (test/hostile.test.js), so that an abort is a failed case rather than the end of the test run.
// A case throws (an assertion) if anything is wrong.
'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Audience } = require('..')

const NOW = '2024-06-02T12:00:00Z'
const EARLIEST = '0001-01-01T00:00:00Z'
const LATEST = '9999-12-30T22:00:00.999999999Z'

function audience() {
  const a = new Audience('Europe/Stockholm')
  a.upsert('ada', { country: 'SE', age: 36, latitude: 59.33, longitude: 18.07 })
  a.tag('ada', 'vip', NOW)
  a.track('ada', 'purchase', NOW, { amount: 120 })
  a.define('swedes', 'country == "SE"')
  return a
}

/** What an audience looks like from outside: compared before and after a refused call. */
function state(a) {
  return JSON.stringify({
    size: a.size,
    segments: a.segments(),
    members: a.members('tag "vip" or not tag "vip"', NOW),
    ada: a.has('ada') ? a.segmentsOf('ada', NOW) : null,
    purchases: a.count('did purchase', NOW),
  })
}

/** Runs `fn`, which must throw an Error with `code`; returns the error. */
function refused(code, fn) {
  let error
  try {
    fn()
  } catch (e) {
    error = e
  }
  assert.ok(error instanceof Error, `expected ${code}, but nothing was thrown`)
  assert.equal(error.code, code, error.message)
  return error
}

/** The same for a promise. */
async function rejected(code, promise) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, code, e.message)
    return true
  })
}

/** `fn` must be refused with `code` and leave the audience as it was. */
function unchanged(a, code, fn) {
  const before = state(a)
  const e = refused(code, fn)
  assert.equal(state(a), before, `${e.message}: the audience changed`)
  return e
}

const cases = {
  'the shared hostile corpus': () => {
    const file = path.join(__dirname, '../../testdata/hostile/predicates.json')
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
    const a = new Audience(doc.audience.time_zone)
    for (const p of doc.audience.profiles) {
      const attrs = {}
      for (const [k, v] of Object.entries(p.attributes)) {
        attrs[k] = typeof v === 'object' ? new Date(v.timestamp) : v
      }
      a.upsert(p.id, attrs)
      for (const t of p.tags || []) a.tag(p.id, t, NOW)
      for (const e of p.events || []) a.track(p.id, e.name, e.at, e.values)
    }
    for (const c of doc.cases) {
      const short = c.text.slice(0, 60)
      const start = Date.now()
      if (c.kind) {
        const e = refused(`SEGCORE_${c.kind.toUpperCase()}`, () => a.define('hostile', c.text))
        if (c.line !== undefined) assert.equal(e.line, c.line, short)
        if (c.column !== undefined) assert.equal(e.column, c.column, short)
        if (c.says !== undefined) assert.ok(e.message.includes(c.says), `${short}: ${e.message}`)
        refused(e.code, () => a.count(c.text, NOW))
      } else {
        a.define('hostile', c.text)
        assert.equal(a.count('hostile', EARLIEST), c.count_at_earliest, short)
        assert.equal(a.count('hostile', LATEST), c.count_at_latest, short)
        a.remove('hostile')
      }
      assert.ok(Date.now() - start < 5000, `${short}: too slow`)
    }
  },

  'far windows reject async twins with the same code': async () => {
    const a = audience()
    await rejected('SEGCORE_PARSE', a.countAsync('did purchase in last 239977 calendar months', NOW))
    await rejected('SEGCORE_PARSE', a.membersAsync('signed_up within last 4294967295 calendar years'))
    assert.equal(await a.countAsync('did purchase in last 120000 calendar months', LATEST), 1)
  },

  'times outside years 1 to 9999 are refused and change nothing': () => {
    const a = audience()
    const before = new Date(Date.UTC(0, 0, 1) - 1) // 0000-12-31T23:59:59.999Z
    before.setUTCFullYear(0)
    unchanged(a, 'SEGCORE_INVALID_VALUE', () => a.tag('eve', 'vip', before))
    unchanged(a, 'SEGCORE_INVALID_VALUE', () => a.track('eve', 'purchase', -62135596800001))
    unchanged(a, 'SEGCORE_INVALID_VALUE', () => a.upsert('eve', { signedUp: before }))
    unchanged(a, 'SEGCORE_INVALID_VALUE', () => a.setConsent('eve', 'email', true, '-000001-01-01T00:00:00Z'))
    // Beyond what any calendar here holds: not a time at all.
    unchanged(a, 'SEGCORE_ARGUMENT', () => a.setConsent('eve', 'email', true, '+010000-01-01T00:00:00Z'))
    refused('SEGCORE_INVALID_VALUE', () => a.count('swedes', before))
    refused('SEGCORE_ARGUMENT', () => a.count('swedes', NaN))
    refused('SEGCORE_ARGUMENT', () => a.count('swedes', new Date(NaN)))
  },

  'lone surrogates are refused, never merged': () => {
    const a = audience()
    for (const bad of ['\ud800', '\udfff', 'a\ud800b', '\udc00\ud800']) {
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.upsert(bad, { age: 1 }))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.upsert('ada', { [bad]: 1 }))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.upsert('ada', { country: bad }))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.upsert('ada', { interests: ['ok', bad] }))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.tag('ada', bad, NOW))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.track(bad, 'purchase', NOW))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.track('ada', 'purchase', NOW, {}, { sku: bad }))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.define(bad, 'tag "vip"'))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.define('x', `country == "${bad}"`))
      unchanged(a, 'SEGCORE_ARGUMENT', () => a.setConsent('ada', bad, true, NOW))
      refused('SEGCORE_ARGUMENT', () => a.has(bad))
      refused('SEGCORE_ARGUMENT', () => a.erase(bad))
      refused('SEGCORE_ARGUMENT', () => a.count(`country == "${bad}"`, NOW))
      const e = unchanged(a, 'SEGCORE_ARGUMENT', () =>
        a.trackMany([{ id: 'ada', name: 'view' }, { id: bad, name: 'view' }]))
      assert.equal(e.row, 1)
    }
    // Whole surrogate pairs are ordinary text.
    a.upsert('\ud83c\udf89', { age: 2 })
    assert.ok(a.has('🎉'))
  },

  'wrong argument types carry SEGCORE_ARGUMENT and name the argument': () => {
    const a = audience()
    const cases = [
      [() => a.upsert(1, {}), 'id'],
      [() => a.upsert('ada', ['x', 'y']), 'attributes'],
      [() => a.upsert('ada', 'age'), 'attributes'],
      [() => a.upsert('ada', null), 'attributes'],
      [() => a.upsert('ada', { age: undefined }), 'attributes.age'],
      [() => a.upsert('ada', { age: null }), 'attributes.age'],
      [() => a.upsert('ada', { age: 1n }), 'attributes.age'],
      [() => a.upsert('ada', { age: {} }), 'attributes.age'],
      [() => a.upsert('ada', { interests: [1] }), 'attributes.interests[0]'],
      [() => a.tag('ada', 7), 'tag'],
      [() => a.tag('ada', 'vip', {}), 'at'],
      [() => a.tag('ada', 'vip', true), 'at'],
      [() => a.track('ada', 'purchase', NOW, { amount: '12' }), 'values.amount'],
      [() => a.track('ada', 'purchase', NOW, [1]), 'values'],
      [() => a.track('ada', 'purchase', NOW, {}, { sku: true }), 'properties.sku'],
      [() => a.setConsent('ada', 'email', 'yes'), 'granted'],
      [() => a.define('x', 42), 'predicate'],
      [() => a.count(42), 'segment'],
      [() => a.count(undefined), 'segment'],
      [() => a.members({}), 'segment'],
      [() => a.matches('ada', 'swedes', 'yesterday'), 'now'],
      [() => a.segmentsOf(null), 'id'],
      [() => a.declareAttribute('x', 5), 'typeName'],
      [() => a.trackMany('rows'), 'events'],
      [() => new Audience(5), 'timeZone'],
    ]
    for (const [fn, name] of cases) {
      const e = unchanged(a, 'SEGCORE_ARGUMENT', fn)
      assert.ok(e.message.includes(name), `${e.message} should name ${name}`)
    }
  },

  'a bad bulk row is refused with its index and writes nothing': async () => {
    const a = audience()
    const rows = [
      { id: 'ada', name: 'view', at: NOW },
      { id: 'bob', name: 'view', at: new Date(NOW) },
      { id: 'cyd', name: 'view', at: 'soon' },
    ]
    let e = unchanged(a, 'SEGCORE_ARGUMENT', () => a.trackMany(rows))
    assert.equal(e.row, 2)
    assert.ok(e.message.includes('at'))
    e = unchanged(a, 'SEGCORE_ARGUMENT', () => a.trackMany([{ id: 'ada' }]))
    assert.equal(e.row, 0)
    assert.ok(e.message.includes('name'))
    e = unchanged(a, 'SEGCORE_ARGUMENT', () => a.trackMany([{ id: 'ada', name: 'v' }, 5]))
    assert.equal(e.row, 1)
    await rejected('SEGCORE_ARGUMENT', a.trackManyAsync(rows))
    // A row the core refuses: the rows before it stay, and the error says which.
    e = refused('SEGCORE_INVALID_VALUE', () =>
      a.trackMany([{ id: 'ada', name: 'view', at: NOW }, { id: '', name: 'view', at: NOW }]))
    assert.equal(e.row, 1)
    assert.equal(a.count('did view', NOW), 1)
    assert.equal(a.trackMany(rows.slice(0, 2)), 2)
  },

  'segments come back in name order, every time': () => {
    const a = new Audience()
    a.upsert('ada', { age: 1 })
    const names = ['zeta', 'alpha', 'mid', 'beta', 'Alpha', 'omega', 'x1', 'x10', 'x2']
    for (const n of names) a.define(n, 'age > 0')
    const keys = Object.keys(a.segments())
    assert.deepEqual(keys, [...names].sort())
    for (let i = 0; i < 20; i++) assert.deepEqual(Object.keys(a.segments()), keys)
  },

  'sample sizes are bounded': () => {
    for (const [args, code] of [
      [[-1], 'SEGCORE_ARGUMENT'],
      [[2 ** 32], 'SEGCORE_ARGUMENT'],
      [[1.5], 'SEGCORE_ARGUMENT'],
      [['10'], 'SEGCORE_ARGUMENT'],
      [[60_000_000], 'SEGCORE_INVALID_VALUE'],
      [[10, -1], 'SEGCORE_ARGUMENT'],
      [[10, 5000], 'SEGCORE_INVALID_VALUE'],
      [[10, 5, 'yes'], 'SEGCORE_ARGUMENT'],
    ]) {
      const start = Date.now()
      refused(code, () => Audience.sampleShop(...args))
      assert.ok(Date.now() - start < 1000, `${args} took too long`)
    }
    assert.equal(Audience.sampleShop(3).size, 3)
  },

  'segment chains are bounded and stored positions out of range are no position': () => {
    const a = audience()
    a.define('s_63', 'tag "vip"')
    for (let i = 62; i >= 0; i--) a.define(`s_${i}`, `not segment s_${i + 1}`)
    unchanged(a, 'SEGCORE_TOO_DEEP', () => a.define('s_x', 'not segment s_0'))
    assert.equal(a.count('s_0', NOW), 0)
    a.upsert('bob', { latitude: 1000, longitude: 0 })
    assert.deepEqual(a.members('within 20000km of (0, 0)', NOW), ['ada'])
  },

  'random arguments never crash the process': () => {
    const a = audience()
    const values = [undefined, null, true, 0, -1, NaN, Infinity, 2 ** 53, 1n, '', '\ud800', 'x',
      [], ['a'], [1], {}, { a: 1 }, new Date(NaN), new Date(0), () => 1, Symbol('s'),
      'tag "vip"', 'did purchase in last 239977 calendar months', new Uint8Array(2)]
    const methods = ['upsert', 'tag', 'untag', 'track', 'trackMany', 'setConsent', 'erase',
      'define', 'remove', 'count', 'members', 'memberSlots', 'matches', 'segmentsOf', 'explain',
      'has', 'declareAttribute', 'declareEvent', 'declareEventProperty', 'declareTagNamespace',
      'declareChannel', 'startLive', 'stopLive', 'advanceTo', 'nextChangeAt', 'drainTransitions',
      'setQueueCapacity', 'liveMembers', 'liveMemberSlots', 'subscribe', 'unsubscribe',
      'defineDecision', 'decision', 'removeDecision', 'decide', 'assign', 'render', 'why']
    let seed = 7
    const pick = (xs) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return xs[seed % xs.length] }
    for (let i = 0; i < 3000; i++) {
      const m = pick(methods)
      const args = [pick(values), pick(values), pick(values), pick(values), pick(values)]
      try {
        a[m](...args)
      } catch (e) {
        assert.ok(e instanceof Error, `${m}: threw a non-Error`)
        assert.match(String(e.code), /^SEGCORE_[A-Z_]+$/, `${m}: ${e.message}`)
      }
    }
  },
}

module.exports = { cases }

// Run as `node hostile-cases.js <name>`: runs that case and prints `ok`.
if (require.main === module) {
  const name = process.argv[2]
  Promise.resolve()
    .then(() => cases[name]())
    .then(() => console.log('ok'))
    .catch((e) => {
      console.error(e && e.stack ? e.stack : e)
      process.exit(1)
    })
}
