// Loading the shared corpus files of testdata/ through the Node API: an audience (profiles
// with attributes, tags, events and consent; ids to erase; named segments) in the one JSON
// shape the Rust, Python and Node suites all read.
'use strict'
const assert = require('node:assert/strict')
const { Audience } = require('..')

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

module.exports = { load }
