// A small HTTP server that records what visitors do and answers, per visitor, the segments
// they are in. Plain node:http, no framework.
//
//   POST /profiles  {"id": "v1", "attributes": {"country": "SE"}, "tags": ["vip"]}
//   POST /events    {"id": "v1", "name": "purchase", "at": "2024-06-01T10:00:00Z",
//                    "values": {"amount": 120}, "properties": {"category": "shoes"}}
//   GET  /visitors/v1/segments   -> {"id": "v1", "segments": ["big_spenders", "vips"]}
//   GET  /segments               -> {"big_spenders": {"definition": "...", "members": 1}, ...}
//
// Run: PORT=3000 node server.js   (PORT=0 picks a free port; the first line printed says which)
'use strict'
const http = require('node:http')

// From an install (`npm install segcore`) or, in this repository, the built package next door.
function loadSegcore() {
  try {
    return require('segcore')
  } catch {
    return require('../../bindings-node')
  }
}
const { Audience } = loadSegcore()

const SEGMENTS = {
  big_spenders: 'sum(purchase.amount in last 30d) > 100',
  window_shoppers: 'did page_view at least 3 times in last 7d and not did purchase in last 7d',
  vips: 'tag "vip"',
  swedes: 'country == "SE"',
}

const audience = new Audience(process.env.TIME_ZONE || 'UTC')
// What the segments refer to, declared before the first visitor arrives.
audience.declareAttribute('country', 'string')
audience.declareEventProperty('purchase', 'amount', 'number')
audience.declareEvent('page_view')
for (const [name, text] of Object.entries(SEGMENTS)) audience.define(name, text)

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
      if (body.length > 1_000_000) reject(Object.assign(new Error('body too large'), { status: 413 }))
    })
    req.on('end', () => {
      try {
        resolve(JSON.parse(body || '{}'))
      } catch {
        reject(Object.assign(new Error('the body is not JSON'), { status: 400 }))
      }
    })
  })
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost')
  if (req.method === 'POST' && url.pathname === '/profiles') {
    const { id, attributes = {}, tags = [] } = await readJson(req)
    audience.upsert(id, attributes)
    for (const tag of tags) audience.tag(id, tag)
    return send(res, 204)
  }
  if (req.method === 'POST' && url.pathname === '/events') {
    const { id, name, at, values, properties } = await readJson(req)
    audience.track(id, name, at, values, properties)
    return send(res, 204)
  }
  const visitor = /^\/visitors\/([^/]+)\/segments$/.exec(url.pathname)
  if (req.method === 'GET' && visitor) {
    const id = decodeURIComponent(visitor[1])
    if (!audience.has(id)) return send(res, 404, { error: 'unknown visitor', id })
    return send(res, 200, { id, segments: audience.segmentsOf(id) })
  }
  if (req.method === 'GET' && url.pathname === '/segments') {
    const out = {}
    for (const [name, definition] of Object.entries(audience.segments())) {
      out[name] = { definition, members: audience.count(name) }
    }
    return send(res, 200, out)
  }
  return send(res, 404, { error: 'no such route' })
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    // segcore's errors carry a stable code: the caller sent something segcore refuses.
    const status = e.status || (String(e.code || '').startsWith('SEGCORE_') ? 400 : 500)
    send(res, status, { error: e.code || 'error', message: e.message })
  })
})

server.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on http://localhost:${server.address().port}`)
})
