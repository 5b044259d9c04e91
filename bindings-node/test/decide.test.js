// Decisions, holdouts, templates and `why` from Node, with the shared corpus in
// testdata/decisions (the same cases the Rust and Python suites run).
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { holdoutFraction } = require('..')
const { load } = require('../test-support/corpus')

const corpus = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'testdata', 'decisions', 'decisions.json'), 'utf8'),
)

function corpusAudience() {
  const a = load(corpus)
  for (const [name, spec] of Object.entries(corpus.decisions)) a.defineDecision(name, spec)
  return a
}

test('the holdout draw is the core\'s', () => {
  for (const h of corpus.holdout) assert.equal(holdoutFraction(h.decision, h.profile), h.fraction, JSON.stringify(h))
})

test('decision cases', () => {
  const a = corpusAudience()
  for (const c of corpus.cases) {
    const got = a.decide(c.profile, c.decision, corpus.now)
    assert.equal(got.variant, c.variant, JSON.stringify(c))
    assert.equal(got.chosenBy, c.chosen_by)
    assert.equal(got.rule, c.rule === undefined ? null : c.rule)
    assert.deepEqual(got.payload, c.payload)
    assert.equal(got.message, c.message)
  }
})

test('assignments, and their async twin', async () => {
  const a = corpusAudience()
  for (const [name, expected] of Object.entries(corpus.assignments)) {
    assert.deepEqual(a.assign(name, corpus.now), expected)
    assert.deepEqual(await a.assignAsync(name, corpus.now), expected)
  }
  await assert.rejects(a.assignAsync('nope', corpus.now), { code: 'SEGCORE_UNKNOWN_NAME' })
})

test('bad decisions throw with stable codes and define nothing', () => {
  const a = corpusAudience()
  for (const c of corpus.errors) {
    let error
    try {
      a.defineDecision('probe', c.decision)
    } catch (e) {
      error = e
    }
    assert.ok(error, c.why)
    assert.equal(error.code, `SEGCORE_${c.kind.toUpperCase()}`, `${c.why}: ${error.message}`)
    if (c.suggestion) assert.match(error.message, new RegExp(`\`${c.suggestion}\``))
    if (c.line !== undefined) assert.equal(error.line, c.line, c.why)
    if (c.column !== undefined) assert.equal(error.column, c.column, c.why)
    assert.ok(!a.decisionNames().includes('probe'))
  }
})

test('decisions round-trip, and JSON text works too', () => {
  const a = corpusAudience()
  assert.deepEqual(a.decisionNames(), ['home_hero', 'spring_offer'])
  const spec = a.decision('spring_offer')
  assert.equal(spec.holdout, 0.1)
  assert.deepEqual(a.removeDecision('spring_offer'), spec)
  assert.equal(a.decision('spring_offer'), null)
  a.defineDecision('again', JSON.stringify(spec))
  assert.deepEqual(a.decision('again'), spec)
})

test('templates render with safe defaults', () => {
  const a = corpusAudience()
  assert.equal(a.render('bob', 'Hej {{ first_name | default("där") }}!'), 'Hej där!')
  assert.equal(a.render('ada', "{{ first_name }} ({{ plan }}, {{ tags | join(',') }})"), 'Ada (pro, vip)')
  try {
    a.render('ada', 'Hej\n{{ first_name ')
    assert.fail('no error')
  } catch (e) {
    assert.equal(e.code, 'SEGCORE_TEMPLATE')
    assert.equal(e.line, 2)
  }
})

test('html templates escape what they show', () => {
  const { Audience } = require('..')
  const a = new Audience()
  a.upsert('eve', { first_name: '<script>alert(1)</script>' })
  const escaped = '<b>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</b>'
  assert.equal(a.render('eve', '<b>{{ first_name }}</b>', { escape: 'html' }), escaped)
  assert.equal(a.render('eve', '{{ first_name }}'), '<script>alert(1)</script>')
  assert.throws(() => a.render('eve', '{{ first_name }}', { escape: 'xml' }), { code: 'SEGCORE_ARGUMENT' })
  a.defineDecision('page', { rules: [], default: 'hi', escape: 'html', variants: { hi: { template: '<b>{{ first_name }}</b>' } } })
  assert.equal(a.decide('eve', 'page').message, escaped)
})

test('why cases', () => {
  const a = corpusAudience()
  for (const c of corpus.why) {
    const why = a.why(c.profile, c.segment, corpus.now)
    assert.equal(why.holds, c.holds, c.segment)
    assert.equal(why.text, c.text, c.segment)
  }
})

test('why explains clause by clause', () => {
  const a = corpusAudience()
  const why = a.why('bob', 'vips', corpus.now)
  assert.equal(why.holds, false)
  assert.equal(why.clause, 'segment')
  assert.equal(why.parts[0].seen, 'no tag "vip"')
  assert.equal(why.text, '✗ segment vips\n  ✗ tag "vip": no tag "vip", needed tag "vip"\n')
  const inline = a.why('ada', 'did purchase in last 30d and country == "SE"', corpus.now)
  assert.equal(inline.holds, true)
  assert.equal(inline.parts[0].seen, 'purchase count in last 30d = 1')
})
