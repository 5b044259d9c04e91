// Insight from Node: the statistics give the values scipy and statsmodels give (the Python
// suite computes them independently; here they are written down), reports have their shapes
// and agree with plain counts, async twins resolve, and bad arguments are coded errors.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const segcore = require('..')

const { Audience } = segcore
const NOW = '2026-11-01T12:00:00Z'
const bought = { kind: 'converts', predicate: 'did purchase in last 30d', at: NOW }

function close(actual, expected, tolerance = 1e-9) {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`)
}

function shop() {
  const a = Audience.sampleShop(2000)
  a.define('se', 'country == "SE"')
  a.define('runners', 'tag "interest:running"')
  return a
}

test('the statistics give the reference values', () => {
  // statsmodels proportion_confint(10, 100, method="wilson")
  const [low, high] = segcore.wilsonInterval(10, 100)
  close(low, 0.05522913706067509, 1e-12)
  close(high, 0.17436566150491348, 1e-12)
  assert.equal(segcore.wilsonInterval(0, 0), null)
  // statsmodels proportions_ztest([60, 40], [500, 500])
  const z = segcore.twoProportionTest(60, 500, 40, 500)
  close(z.statistic, 2.1081851067789192, 1e-12)
  close(z.pValue, 0.03501498101966254, 1e-10)
  // scipy ttest_ind(a, b, equal_var=False)
  const w = segcore.welchTest([19.1, 20.2, 18.5, 21.0, 19.7, 20.4, 18.9, 20.0], [21.4, 20.9, 23.1, 19.8, 22.5, 21.7, 24.0, 20.6])
  close(w.statistic, -3.5351298218230744, 1e-9)
  close(w.freedom, 11.548998605779643, 1e-9)
  close(w.pValue, 0.004345532706526949, 1e-12)
  // scipy t.interval(0.95, 7, loc=5, scale=sem([2, 4, 4, 4, 5, 5, 7, 9]))
  const t = segcore.tInterval([2, 4, 4, 4, 5, 5, 7, 9])
  close(t[0], 3.21251208176379, 1e-9)
  close(t[1], 6.787487918236209, 1e-9)
  // statsmodels multipletests([0.01, 0.04, 0.03, 0.2], method="fdr_bh")
  assert.deepEqual(segcore.benjaminiHochberg([0.01, 0.04, 0.03, 0.2]), [0.04, 0.05333333333333334, 0.05333333333333334, 0.2])
  assert.equal(segcore.sampleSizePerArm(0.1, 0.05), 686)
  assert.throws(() => segcore.sampleSizePerArm(0.95, 0.1), { code: 'SEGCORE_INVALID_VALUE' })
  assert.throws(() => segcore.wilsonInterval(5, 4), { code: 'SEGCORE_INVALID_VALUE' })
  assert.throws(() => segcore.twoProportionTest(1.5, 4, 1, 4), { code: 'SEGCORE_ARGUMENT' })
})

test('sizes, overlaps and KPIs agree with plain counts', async () => {
  const a = shop()
  const sizes = a.sizes(NOW)
  assert.deepEqual(sizes.map((s) => s.segment), ['runners', 'se'])
  const se = new Set(a.members('se', NOW))
  const runners = new Set(a.members('runners', NOW))
  const both = [...se].filter((id) => runners.has(id)).length
  const o = a.overlap(['se', 'runners'], NOW)
  assert.deepEqual(o.intersections, [[se.size, both], [both, runners.size]])
  const kpis = a.kpis(['se', 'runners'], bought, NOW)
  const converted = new Set(a.members('did purchase in last 30d', NOW))
  const rate = [...se].filter((id) => converted.has(id)).length / se.size
  close(kpis.rows[0].estimate, rate, 1e-12)
  assert.equal(kpis.rows[0].members, se.size)
  assert.deepEqual(await a.kpisAsync(['se', 'runners'], bought, NOW), kpis)
  const revenue = { kind: 'sum', event: 'purchase', value: 'amount', start: '2026-08-01T00:00:00Z', end: NOW }
  const compared = a.compare('se', revenue, null, NOW)
  assert.ok(compared.freedom > 0 && compared.pValue >= 0 && compared.pValue <= 1)
  assert.throws(() => a.kpis(['se'], { kind: 'sometimes' }, NOW), { code: 'SEGCORE_ARGUMENT', message: /outcome.kind/ })
  assert.throws(() => a.kpis('se', bought, NOW), { code: 'SEGCORE_ARGUMENT', message: /segments/ })
  assert.throws(() => a.kpis(['segment nope'], bought, NOW), { code: 'SEGCORE_UNKNOWN_NAME' })
})

test('testability, the advisor, RFM and recommendations', async () => {
  const a = shop()
  const t = a.testability('se', { baseline: 0.1, minimumEffect: 0.05 }, 'page_view', 28, 60, NOW)
  assert.equal(t.neededPerArm, 686)
  assert.equal(t.members, a.count('se', NOW))
  const advice = a.advise(bought, 0.1, { now: NOW })
  assert.deepEqual(advice.findings.map((f) => f.segments[0]).sort(), ['runners', 'se'])
  assert.ok(advice.findings.every((f) => f.reason.length > 0 && typeof f.numbers.members === 'number'))
  assert.deepEqual(await a.adviseAsync(bought, 0.1, { now: NOW }), advice)
  const rfm = a.scoreRfm('purchase', 'amount', NOW)
  assert.ok(rfm.customers > 0)
  a.defineRfmSegments()
  const scored = a.count('rfm_recency exists', NOW)
  assert.equal(scored, rfm.customers)
  const together = await a.coOccurrenceAsync('purchase', 'sku', 0.001)
  assert.ok(together.pairs().length > 0)
  const [top] = together.pairs()
  assert.equal(together.boughtWith(top.item, 1).length, 1)
  assert.throws(() => together.boughtWith('no-such-sku'), { code: 'SEGCORE_UNKNOWN_NAME' })
  const someone = a.members('did purchase', NOW)[0]
  const picks = a.recommend(someone, together, 4)
  assert.equal(picks.length, 4)
  const perMember = a.recommendSegment('se', together, 2, NOW)
  assert.equal(Object.keys(perMember).length, a.count('se', NOW))
})
