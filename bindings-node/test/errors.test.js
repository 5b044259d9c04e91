// Errors carry a stable `code`, and no input crashes the process.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Audience } = require('..')

const NOW = '2024-06-02T12:00:00Z'

function audience() {
  const a = new Audience()
  a.upsert('ada', { country: 'SE', age: 36 })
  a.define('swedes', 'country == "SE"')
  return a
}

function code(fn) {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof Error)
    return e.code
  }
  assert.fail('expected an error')
}

test('each kind of mistake has its code', () => {
  const a = audience()
  assert.equal(code(() => a.count('age >', NOW)), 'SEGCORE_PARSE')
  assert.equal(code(() => a.count('countyr == "SE"', NOW)), 'SEGCORE_UNKNOWN_NAME')
  assert.equal(code(() => a.upsert('ada', { age: 'old' })), 'SEGCORE_SCHEMA')
  assert.equal(code(() => a.count('age == "30"', NOW)), 'SEGCORE_TYPE')
  assert.equal(code(() => a.upsert('ada', { score: NaN })), 'SEGCORE_INVALID_VALUE')
  a.define('a', 'segment swedes')
  assert.equal(code(() => a.define('swedes', 'segment a')), 'SEGCORE_CYCLE')
  assert.equal(code(() => a.remove('swedes')), 'SEGCORE_SEGMENT_IN_USE')
  assert.equal(code(() => a.count('swedes', 'yesterday')), 'SEGCORE_ARGUMENT')
  assert.equal(code(() => new Audience('Mars/Base')), 'SEGCORE_UNKNOWN_NAME')
})

test('wrong argument types are SEGCORE_ARGUMENT in every call, old and new', () => {
  const a = audience()
  for (const ms of [1e300, -1e300, 1e19, Infinity, NaN]) {
    assert.equal(code(() => a.count('swedes', ms)), 'SEGCORE_ARGUMENT', `now = ${ms}`)
  }
  assert.equal(a.count('swedes', Date.parse(NOW)), 1)
  for (const wrong of [5, true, null, undefined]) {
    assert.equal(code(() => a.ingest(wrong)), 'SEGCORE_ARGUMENT', `ingest(${wrong})`)
    assert.equal(code(() => a.loadContacts('contacts.csv', wrong)), 'SEGCORE_ARGUMENT', `loadContacts(p, ${wrong})`)
    assert.equal(code(() => a.defineDecision('d', wrong)), 'SEGCORE_ARGUMENT', `defineDecision(d, ${wrong})`)
  }
  // Malformed content of the right type keeps its own code.
  assert.equal(code(() => a.ingest({ type: 'track' })), 'SEGCORE_INPUT')
})

test('messages say where and what', () => {
  const a = audience()
  try {
    a.count('countyr == "SE"', NOW)
  } catch (e) {
    assert.match(e.message, /did you mean `country`/)
  }
  assert.throws(() => a.count('country == "SE" and\n  age >', NOW), {
    code: 'SEGCORE_PARSE',
    line: 2,
    column: 8,
    message: /line 2, column 8/,
  })
  assert.throws(() => a.count('tag', NOW), { code: 'SEGCORE_PARSE', line: 1, column: 4 })
})

test('random input never crashes the process', () => {
  const a = audience()
  const alphabet = 'abc tagdi"()[]{}:,=<>!.0123456789-@\n\\é🙂'
  let seed = 7
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  for (let i = 0; i < 2000; i++) {
    let text = ''
    for (let j = Math.floor(next() * 40); j > 0; j--) text += alphabet[Math.floor(next() * alphabet.length)]
    try {
      a.count(text, NOW)
    } catch (e) {
      assert.match(e.code, /^SEGCORE_/)
    }
  }
})

test('a panic inside segcore throws SEGCORE_INTERNAL instead of aborting the process', () => {
  const a = audience()
  assert.throws(() => a._panicForTests('boom'), { code: 'SEGCORE_ARGUMENT', message: /SEGCORE_TEST_PANICS/ })
  process.env.SEGCORE_TEST_PANICS = '1'
  try {
    assert.throws(() => a._panicForTests('planted panic'), {
      code: 'SEGCORE_INTERNAL',
      message: /planted panic.*open or build it again/,
    })
  } finally {
    delete process.env.SEGCORE_TEST_PANICS
  }
  // The process lives on, and the audience still answers.
  assert.equal(a.count('swedes', NOW), 1)
})
