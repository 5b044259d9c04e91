// The Node binding's cost: a trivial call beyond the core, and segmentsOf for one profile.
//
// Usage (after building bindings-node): node benches/node/overhead.js [customers]
// (default 100,000 customers of the sample shop, with the example's kinds of segments).
'use strict'
const path = require('node:path')
const { Audience } = require(path.join(__dirname, '..', '..', 'bindings-node'))

const customers = Number(process.argv[2] || 100_000)
const NOW = '2026-11-01T12:00:00Z'
const SEGMENTS = {
  young_nordics: 'country in ["SE", "DK", "NO", "FI"] and age between 18 and 29',
  premium_quiz: 'tag "quiz:premium" and not tag "quiz:budget"',
  cart_abandoners: 'did add_to_cart in last 7d and not did purchase in last 7d',
  big_spenders: 'sum(purchase.amount in last 365d) > 1000',
  lapsed: 'did purchase and last(purchase) before 90d ago',
  emailable: 'consent email and email exists',
  win_back: 'segment lapsed and segment emailable and not tag "churn_risk"',
}

function perCall(fn, calls) {
  fn()
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) fn()
  return Number(process.hrtime.bigint() - start) / calls
}

function best(fn, calls, rounds = 5) {
  return Math.min(...Array.from({ length: rounds }, () => perCall(fn, calls)))
}

const built = process.hrtime.bigint()
const audience = Audience.sampleShop(customers)
console.log(`sample shop: ${audience.size.toLocaleString()} customers in ${Number(process.hrtime.bigint() - built) / 1e9} s`)
for (const [name, text] of Object.entries(SEGMENTS)) audience.define(name, text)

const empty = best(() => undefined, 1_000_000)
const size = best(() => audience.size, 1_000_000)
const has = best(() => audience.has('c0000042'), 1_000_000)
console.log(`trivial call, size getter: ${(size - empty).toFixed(0)} ns beyond an empty JS call`)
console.log(`has(id) (one hash lookup in the core): ${(has - empty).toFixed(0)} ns`)

const now = Date.parse(NOW)
const ids = Array.from({ length: 1000 }, (_, i) => `c${String((i * 97) % customers).padStart(7, '0')}`)
let k = 0
const segmentsOf = best(() => audience.segmentsOf(ids[k++ % ids.length], now), 2_000)
console.log(`segmentsOf for one profile (${Object.keys(SEGMENTS).length} segments): ${(segmentsOf / 1000).toFixed(1)} µs`)
