// A small HTTP server that records what visitors do, answers the segments they are in, picks
// a home-page variant per visitor with its message, and pushes every segment entry and exit
// to listeners as it happens (server-sent events). Plain node:http, no framework.
//
//   POST /profiles  {"id": "v1", "attributes": {"country": "SE"}, "tags": ["vip"]}
//   POST /events    {"id": "v1", "name": "purchase", "at": "2024-06-01T10:00:00Z",
//                    "values": {"amount": 120}, "properties": {"category": "shoes"}}
//   GET  /visitors/v1/segments   -> {"id": "v1", "segments": ["big_spenders", "vips"]}
//   GET  /visitors/v1/hero       -> {"variant": "fast", "payload": {...}, "message": "..."}
//   GET  /segments               -> {"big_spenders": {"definition": "...", "members": 1}, ...}
//   GET  /transitions            -> text/event-stream: `event: transition` with
//                                   {"profile", "segment", "direction", "at"} as data
//   GET  /stats                  -> {"listeners": 2, "dropped": 0}
//
// A listener that stops reading is dropped once SSE_MAX_BUFFERED bytes (default 1 MiB) wait
// for it, with a last `event: close` saying why (listeners.js): slow clients cannot take the
// server's memory.
//
// Membership is live: the audience clock follows the wall clock, each write reports who
// entered and left, and a timer set from `nextChangeAt()` fires time-driven exits (a visitor
// no longer `active_now` ACTIVE_WINDOW after their last page view, default 1m) on time.
//
// A request segcore or the server refuses answers 400 with {"error": CODE, "message": ...}
// and changes nothing (a profile's attributes and tags are written as one all-or-nothing
// call). A body over MAX_BODY_BYTES (default 1,000,000 bytes) answers 413 and is not read
// further.
//
// The audience is kept in the directory DATA_DIR (default ./segcore-data): a write answered
// 2xx is on disk (group commit), so the server may be killed at any moment and starts again
// with every acknowledged visitor. DATA_DIR=:memory: keeps it in memory only.
//
// Run: PORT=3000 node server.js   (PORT=0 picks a free port; the first line printed says
// which). It listens on 127.0.0.1 only, unless HOST says otherwise.
'use strict'
const http = require('node:http')
const { Listeners } = require('./listeners')

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
  active_now: `did page_view in last ${process.env.ACTIVE_WINDOW || '1m'}`,
  big_spenders: 'sum(purchase.amount in last 30d) > 100',
  window_shoppers: 'did page_view at least 3 times in last 7d and not did purchase in last 7d',
  vips: 'tag "vip"',
  swedes: 'country == "SE"',
}
const MAX_BODY_BYTES = Number(process.env.MAX_BODY_BYTES ?? 1_000_000)

const DATA_DIR = process.env.DATA_DIR || 'segcore-data'
const audience = DATA_DIR === ':memory:' ? new Audience() : Audience.open(DATA_DIR)
audience.setTimeZone(process.env.TIME_ZONE || 'UTC')
// What the segments refer to, declared before the first visitor arrives.
audience.declareAttribute('country', 'string')
audience.declareEventProperty('purchase', 'amount', 'number')
audience.declareEvent('page_view')
audience.declareAttribute('first_name', 'string')
for (const [name, text] of Object.entries(SEGMENTS)) audience.define(name, text)

// The home page's hero: which pitch each visitor sees, with a tenth held out as a control.
audience.defineDecision('home_hero', {
  rules: [
    { segment: 'vips', variant: 'fast' },
    { segment: 'big_spenders', variant: 'fast' },
    { when: 'did page_view', variant: 'safe' },
  ],
  default: 'welcome',
  holdout: Number(process.env.HOLDOUT ?? 0.1),
  // The hero's message goes into a page: every value it shows is HTML-escaped, so a first name
  // of `<script>…` is shown, not run.
  escape: 'html',
  variants: {
    fast: { payload: { layout: 'express' }, template: 'Welcome back{% if first_name %}, {{ first_name }}{% endif %}! Express checkout is ready.' },
    safe: { payload: { layout: 'classic' }, template: 'Hej {{ first_name | default("där") }}, take your time: returns are free.' },
    welcome: { payload: { layout: 'intro' }, template: 'Hello {{ first_name | default("there") }}, welcome to the shop.' },
  },
})

// Live membership: the clock follows the wall clock; listeners get every transition.
audience.startLive(new Date())
const listeners = new Listeners(Number(process.env.SSE_MAX_BUFFERED ?? 1 << 20))
audience.subscribe((transitions) => {
  for (const t of transitions) {
    const data = JSON.stringify({ profile: t.profile, segment: t.segment, direction: t.direction, at: t.at })
    listeners.send(`event: transition\ndata: ${data}\n\n`)
  }
})

/** Moves the audience clock up to the wall clock (never back). */
function catchUp() {
  const now = new Date()
  if (now > audience.clock) audience.advanceTo(now)
}

// Time-driven changes: sleep until the next one is due, advance to it, repeat. setTimeout
// holds at most ~24.8 days, so a later change is reached in steps.
const MAX_DELAY = 2 ** 31 - 1
let timer = null
function schedule() {
  clearTimeout(timer)
  const due = audience.nextChangeAt()
  if (due === null) return
  const delay = Math.min(Math.max(due - Date.now(), 0), MAX_DELAY)
  timer = setTimeout(() => {
    catchUp()
    schedule()
  }, delay)
  timer.unref()
}

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
    catchUp()
    // One call: the attributes and every tag are checked before anything is written.
    audience.upsert(id, attributes, tags)
    schedule()
    return send(res, 204)
  }
  if (req.method === 'POST' && url.pathname === '/events') {
    const { id, name, at, values, properties } = await readJson(req)
    catchUp()
    audience.track(id, name, at, values, properties)
    schedule()
    return send(res, 204)
  }
  const visitor = /^\/visitors\/([^/]+)\/(segments|hero)$/.exec(url.pathname)
  if (req.method === 'GET' && visitor) {
    let id
    try {
      id = decodeURIComponent(visitor[1])
    } catch {
      throw refusal(400, 'BAD_REQUEST', 'the visitor id is not valid percent-encoding')
    }
    if (!audience.has(id)) return send(res, 404, { error: 'NOT_FOUND', message: 'unknown visitor', id })
    catchUp()
    if (visitor[2] === 'hero') {
      const { variant, payload, message, chosenBy } = audience.decide(id, 'home_hero', audience.clock)
      return send(res, 200, { id, variant, payload, message, chosenBy })
    }
    return send(res, 200, { id, segments: audience.segmentsOf(id, audience.clock) })
  }
  if (req.method === 'GET' && url.pathname === '/transitions') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(': listening\n\n')
    listeners.add(res)
    return undefined
  }
  if (req.method === 'GET' && url.pathname === '/stats') {
    return send(res, 200, { listeners: listeners.size, dropped: listeners.dropped })
  }
  if (req.method === 'GET' && url.pathname === '/segments') {
    const out = {}
    catchUp()
    for (const [name, definition] of Object.entries(audience.segments())) {
      out[name] = { definition, members: audience.liveMembers(name).length }
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
  const report = audience.openReport
  if (report) console.log(`audience in ${audience.directory}: ${report.snapshotProfiles} profiles in the snapshot, ${report.recordsReplayed} writes replayed`)
})

// A clean stop flushes and releases the directory (a crash loses nothing acknowledged either).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close()
    audience.close()
    process.exit(0)
  })
}
