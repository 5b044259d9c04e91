// A small HTTP server that records what visitors do and answers, per visitor, the segments
// they are in. Plain node:http, no framework.
//
//   POST /profiles  {"id": "v1", "attributes": {"country": "SE"}, "tags": ["vip"]}
//   POST /events    {"id": "v1", "name": "purchase", "at": "2024-06-01T10:00:00Z",
//                    "values": {"amount": 120}, "properties": {"category": "shoes"}}
//   GET  /visitors/v1/segments   -> {"id": "v1", "segments": ["big_spenders", "vips"]}
//   GET  /segments               -> {"big_spenders": {"definition": "...", "members": 1}, ...}
//
// A request segcore or the server refuses answers 400 with {"error": CODE, "message": ...}
// and changes nothing (a profile's attributes and tags are written as one all-or-nothing
// call). A body over MAX_BODY_BYTES (default 1,000,000 bytes) answers 413 and is not read
// further.
//
// Run: PORT=3000 node server.js   (PORT=0 picks a free port; the first line printed says
// which). It listens on 127.0.0.1 only, unless HOST says otherwise.
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
const MAX_BODY_BYTES = Number(process.env.MAX_BODY_BYTES ?? 1_000_000)

const audience = new Audience(process.env.TIME_ZONE || 'UTC')
// What the segments refer to, declared before the first visitor arrives.
audience.declareAttribute('country', 'string')
audience.declareEventProperty('purchase', 'amount', 'number')
audience.declareEvent('page_view')
for (const [name, text] of Object.entries(SEGMENTS)) audience.define(name, text)

/** An error answered with `status` and `code`. */
function refusal(status, code, message) {
  return Object.assign(new Error(message), { status, code })
}

/** The request's JSON object, read up to MAX_BODY_BYTES bytes and no further. */
function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let bytes = 0
    req.on('data', (chunk) => {
      bytes += chunk.length
      if (bytes > MAX_BODY_BYTES) {
        req.removeAllListeners('data')
        req.pause()
        reject(refusal(413, 'BODY_TOO_LARGE', `the body is over ${MAX_BODY_BYTES} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('error', reject)
    req.on('end', () => {
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
      } catch {
        return reject(refusal(400, 'BAD_JSON', 'the body is not JSON'))
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return reject(refusal(400, 'BAD_REQUEST', 'the body must be a JSON object'))
      }
      resolve(body)
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
    // One call: the attributes and every tag are checked before anything is written.
    audience.upsert(id, attributes, tags)
    return send(res, 204)
  }
  if (req.method === 'POST' && url.pathname === '/events') {
    const { id, name, at, values, properties } = await readJson(req)
    audience.track(id, name, at, values, properties)
    return send(res, 204)
  }
  const visitor = /^\/visitors\/([^/]+)\/segments$/.exec(url.pathname)
  if (req.method === 'GET' && visitor) {
    let id
    try {
      id = decodeURIComponent(visitor[1])
    } catch {
      throw refusal(400, 'BAD_REQUEST', 'the visitor id is not valid percent-encoding')
    }
    if (!audience.has(id)) return send(res, 404, { error: 'NOT_FOUND', message: 'unknown visitor', id })
    return send(res, 200, { id, segments: audience.segmentsOf(id) })
  }
  if (req.method === 'GET' && url.pathname === '/segments') {
    const out = {}
    for (const [name, definition] of Object.entries(audience.segments())) {
      out[name] = { definition, members: audience.count(name) }
    }
    return send(res, 200, out)
  }
  return send(res, 404, { error: 'NOT_FOUND', message: 'no such route' })
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    // segcore's errors carry a stable code: the caller sent something segcore refuses.
    const ours = String(e.code || '').startsWith('SEGCORE_')
    const status = e.status || (ours ? 400 : 500)
    if (status === 500) console.error(e)
    res.setHeader('connection', 'close')
    send(res, status, { error: e.code || 'INTERNAL', message: e.message })
    // A body left unread (too large) is not drained: the connection is closed instead.
    if (status === 413) res.on('finish', () => req.destroy())
  })
})

const host = process.env.HOST || '127.0.0.1'
server.listen(Number(process.env.PORT ?? 3000), host, () => {
  const { address, port } = server.address()
  const shown = address.includes(':') ? `[${address}]` : address
  console.log(`listening on http://${shown}:${port}`)
})
