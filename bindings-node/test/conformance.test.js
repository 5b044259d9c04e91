// The shared corpus in testdata/conformance, through the Node API: the same audiences and
// predicates, the same expected members (or error codes) as the Rust and Python suites.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Audience } = require('..')

const dir = path.join(__dirname, '..', '..', 'testdata', 'conformance')
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()

function load(data) {
  const a = new Audience(data.time_zone)
  for (const p of data.profiles) {
    const attributes = {}
    for (const [k, v] of Object.entries(p.attributes || {})) {
      attributes[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? new Date(v.timestamp) : v
    }
    a.upsert(p.id, attributes)
    for (const [tag, at] of Object.entries(p.tags || {})) a.tag(p.id, tag, at)
    for (const e of p.events || []) {
      const values = {}
      const properties = {}
      for (const [k, v] of Object.entries(e.properties || {})) {
        if (typeof v === 'number') values[k] = v
        else properties[k] = v
      }
      a.track(p.id, e.name, e.at, values, properties)
    }
    for (const c of p.consent || []) a.setConsent(p.id, c.channel, c.granted, c.at)
  }
  for (const id of data.erase || []) assert.equal(a.erase(id), true)
  for (const s of data.segments || []) a.define(s.name, s.text)
  return a
}

test('the corpus is there', () => {
  assert.ok(files.length >= 2)
})

for (const file of files) {
  const data = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))
  const audience = load(data)
  for (const c of data.cases) {
    test(`${file}: ${c.name}`, () => {
      const now = c.now || data.now
      if (c.error) {
        try {
          audience.count(c.text, now)
          assert.fail('expected an error')
        } catch (e) {
          assert.equal(e.code, 'SEGCORE_' + c.error.toUpperCase(), e.message)
          if (c.suggestion) assert.match(e.message, new RegExp('did you mean `' + c.suggestion + '`'))
        }
        return
      }
      const expect = [...c.expect].sort()
      assert.deepEqual([...audience.members(c.text, now)].sort(), expect)
      assert.equal(audience.count(c.text, now), expect.length)
      for (const id of ['ada', 'bob', 'cy', 'dee', 'eve', 'gus', 'ann', 'ben', 'cat', 'dan', 'eli', 'fin']) {
        if (audience.has(id)) assert.equal(audience.matches(id, c.text, now), expect.includes(id), id)
      }
    })
  }
}
