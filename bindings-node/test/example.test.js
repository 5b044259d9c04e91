// examples/node/server.js, run as README says, answers over HTTP.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const http = require('node:http')
const fs = require('node:fs')
const os = require('node:os')

const server = path.join(__dirname, '..', '..', 'examples', 'node', 'server.js')

/** A fresh directory for one server's audience. */
function dataDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'segcore-example-'))
}

function start(env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [server], {
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir(), ...env },
    })
    child.stdout.setEncoding('utf8')
    child.stdout.once('data', (line) => {
      const url = /listening on (http:\/\/\S+)/.exec(line)
      if (url) resolve({ child, base: url[1] })
      else reject(new Error(`unexpected output: ${line}`))
    })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)))
  })
}

async function call(base, method, route, body) {
  const res = await fetch(base + route, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

test('the example server records events and answers segments', async () => {
  const { child, base } = await start()
  try {
    const now = Date.now()
    assert.equal((await call(base, 'POST', '/profiles', { id: 'v1', attributes: { country: 'SE' }, tags: ['vip'] })).status, 204)
    for (const amount of [80, 70]) {
      const r = await call(base, 'POST', '/events', { id: 'v1', name: 'purchase', at: now - 3_600_000, values: { amount } })
      assert.equal(r.status, 204)
    }
    for (let i = 0; i < 3; i++) {
      await call(base, 'POST', '/events', { id: 'v2', name: 'page_view', at: new Date(now - i * 60_000).toISOString() })
    }
    assert.deepEqual((await call(base, 'GET', '/visitors/v1/segments')).body, {
      id: 'v1',
      segments: ['big_spenders', 'swedes', 'vips'],
    })
    assert.deepEqual((await call(base, 'GET', '/visitors/v2/segments')).body.segments, ['active_now', 'window_shoppers'])
    assert.equal((await call(base, 'GET', '/visitors/nobody/segments')).status, 404)
    const segments = (await call(base, 'GET', '/segments')).body
    assert.equal(segments.big_spenders.members, 1)
    const bad = await call(base, 'POST', '/profiles', { id: 'v1', attributes: { country: 7 } })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error, 'SEGCORE_SCHEMA')
  } finally {
    child.kill()
  }
})

/** Listens to /transitions; `next(pred)` waits for the next event matching `pred`. */
function listen(base) {
  return new Promise((resolve, reject) => {
    const events = []
    const waiting = []
    const req = http.get(base + '/transitions', (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream')
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        buffer += chunk
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = /^data: (.*)$/m.exec(block)
          if (/^event: transition$/m.test(block) && data) events.push({ ...JSON.parse(data[1]), seenAt: Date.now() })
        }
        for (const w of [...waiting]) w()
      })
      const next = (pred, timeout = 10_000) =>
        new Promise((done, fail) => {
          const check = () => {
            const i = events.findIndex(pred)
            if (i < 0) return
            waiting.splice(waiting.indexOf(check), 1)
            done(events.splice(i, 1)[0])
          }
          waiting.push(check)
          setTimeout(() => fail(new Error(`no matching transition in ${timeout} ms: ${JSON.stringify(events)}`)), timeout).unref()
          check()
        })
      resolve({ next, close: () => req.destroy() })
    })
    req.on('error', reject)
  })
}

test('transitions arrive by server-sent events, time-driven exits on time, and the hero decides', async () => {
  const { child, base } = await start({ ACTIVE_WINDOW: '2s', HOLDOUT: '0' })
  const stream = await listen(base)
  try {
    await call(base, 'POST', '/profiles', { id: 'ann', attributes: { first_name: 'Ann' } })
    const viewedAt = Date.now()
    assert.equal((await call(base, 'POST', '/events', { id: 'ann', name: 'page_view', at: viewedAt })).status, 204)
    const entered = await stream.next((t) => t.profile === 'ann' && t.segment === 'active_now')
    assert.equal(entered.direction, 'entered')
    // Two seconds after the view (no request in between), the timer moves the clock and the
    // exit is pushed, stamped with the moment it happened.
    const left = await stream.next((t) => t.profile === 'ann' && t.direction === 'left')
    assert.equal(left.segment, 'active_now')
    // `last 2s` includes its start: the view leaves it a nanosecond after two seconds.
    assert.equal(left.at, new Date(viewedAt + 2000).toISOString().replace('Z', '000001Z'))
    // Pushed by the timer (no request came in between), never before it happened.
    assert.ok(left.seenAt >= viewedAt + 2000, `pushed ${viewedAt + 2000 - left.seenAt} ms early`)
    const hero = (await call(base, 'GET', '/visitors/ann/hero')).body
    assert.equal(hero.variant, 'safe')
    assert.equal(hero.message, 'Hej Ann, take your time: returns are free.')
    assert.deepEqual(hero.payload, { layout: 'classic' })
  } finally {
    stream.close()
    child.kill()
  }
})

/** Sends a raw body (a string, or chunks written one by one) and reads the answer. */
function raw(base, route, chunks) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + route, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined }))
    })
    req.on('error', (e) => resolve({ status: 'closed', error: e }))
    let i = 0
    const next = () => {
      if (i === chunks.length) return req.end()
      const ok = req.write(chunks[i++])
      if (ok) setImmediate(next)
      else req.once('drain', next)
    }
    req.on('close', () => { i = chunks.length })
    next()
  })
}

test('the example server listens on 127.0.0.1 unless told otherwise', async () => {
  const { child, base } = await start()
  try {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/)
  } finally {
    child.kill()
  }
})

test('the example server answers bad requests with 400 and a code, and changes nothing', async () => {
  const { child, base } = await start()
  try {
    const refused = [
      ['/profiles', {}, 'SEGCORE_ARGUMENT'],
      ['/profiles', { id: 5 }, 'SEGCORE_ARGUMENT'],
      ['/profiles', { id: 'p1', attributes: [1, 2] }, 'SEGCORE_ARGUMENT'],
      ['/profiles', { id: 'p1', attributes: { country: 'SE' }, tags: 'vip' }, 'SEGCORE_ARGUMENT'],
      ['/profiles', { id: 'p1', attributes: { country: 'SE' }, tags: ['vip', 'bad*'] }, 'SEGCORE_INVALID_VALUE'],
      ['/profiles', { id: 'p1', attributes: { country: 'SE', age: null } }, 'SEGCORE_ARGUMENT'],
      ['/profiles', { id: '\ud800', attributes: {} }, 'SEGCORE_ARGUMENT'],
      ['/events', { id: 'p1' }, 'SEGCORE_ARGUMENT'],
      ['/events', { id: 'p1', name: 'purchase', at: 'soon' }, 'SEGCORE_ARGUMENT'],
      ['/events', { id: 'p1', name: 'purchase', values: { amount: 'ten' } }, 'SEGCORE_ARGUMENT'],
    ]
    for (const [route, body, code] of refused) {
      const r = await call(base, 'POST', route, body)
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.equal(r.body.error, code, JSON.stringify(r.body))
    }
    for (const [text, code] of [['null', 'BAD_REQUEST'], ['[1]', 'BAD_REQUEST'], ['"x"', 'BAD_REQUEST'], ['{', 'BAD_JSON']]) {
      const r = await raw(base, '/profiles', [text])
      assert.equal(r.status, 400, text)
      assert.equal(r.body.error, code)
    }
    // Nothing was written: no profile p1, no events.
    assert.equal((await call(base, 'GET', '/visitors/p1/segments')).status, 404)
    const segments = (await call(base, 'GET', '/segments')).body
    for (const s of Object.values(segments)) assert.equal(s.members, 0)
    assert.equal((await call(base, 'GET', '/visitors/%E0%A4%A/segments')).status, 400)
  } finally {
    child.kill()
  }
})

test('the example server stops reading a body over the limit, counted in bytes', async () => {
  const { child, base } = await start({ MAX_BODY_BYTES: '1000' })
  try {
    // 600 characters, 1,200 bytes.
    const wide = JSON.stringify({ id: 'p1', attributes: { note: 'é'.repeat(600) } })
    assert.equal((await raw(base, '/profiles', [wide])).status, 413)
    // A large streamed body: answered (or cut off) without reading it all, and the server lives.
    const chunk = 'x'.repeat(1 << 20)
    const r = await raw(base, '/profiles', Array(64).fill(chunk))
    assert.ok(r.status === 413 || r.status === 'closed', String(r.status))
    assert.equal((await call(base, 'GET', '/visitors/p1/segments')).status, 404)
    assert.equal((await call(base, 'POST', '/profiles', { id: 'p2', attributes: { country: 'SE' } })).status, 204)
    assert.equal(child.exitCode, null, 'the server is still running')
  } finally {
    child.kill()
  }
})

test('the example server keeps every acknowledged write across a crash', async () => {
  const dir = dataDir()
  const first = await start({ DATA_DIR: dir })
  const now = Date.now()
  try {
    assert.equal((await call(first.base, 'POST', '/profiles', { id: 'v1', attributes: { country: 'SE', first_name: 'Ada' }, tags: ['vip'] })).status, 204)
    for (const amount of [80, 70]) {
      assert.equal((await call(first.base, 'POST', '/events', { id: 'v1', name: 'purchase', at: now - 3_600_000, values: { amount } })).status, 204)
    }
  } finally {
    // No clean shutdown: every write answered 204 was already on disk.
    first.child.kill('SIGKILL')
  }
  await new Promise((resolve) => first.child.once('exit', resolve))
  const second = await start({ DATA_DIR: dir })
  try {
    assert.deepEqual((await call(second.base, 'GET', '/visitors/v1/segments')).body, {
      id: 'v1',
      segments: ['big_spenders', 'swedes', 'vips'],
    })
    const hero = (await call(second.base, 'GET', '/visitors/v1/hero')).body
    assert.match(hero.message, /Ada/)
    assert.equal((await call(second.base, 'GET', '/segments')).body.big_spenders.members, 1)
  } finally {
    second.child.kill()
  }
})

test('a listener that stops reading is dropped with a close event, not buffered for ever', () => {
  const { EventEmitter } = require('node:events')
  const { Listeners } = require(path.join(__dirname, '..', '..', 'examples', 'node', 'listeners.js'))
  // A response whose client reads (its buffer drains) or never reads (it only grows).
  function response(reads) {
    const res = new EventEmitter()
    res.writableLength = 0
    res.sent = []
    res.ended = null
    res.destroyed = false
    res.write = (text) => {
      res.sent.push(text)
      if (!reads) res.writableLength += text.length
    }
    res.end = (text) => {
      res.ended = text
    }
    res.destroy = () => {
      res.destroyed = true
      res.emit('close')
    }
    return res
  }
  const listeners = new Listeners(4096)
  const reader = response(true)
  const stalled = Array.from({ length: 100 }, () => response(false))
  listeners.add(reader)
  for (const res of stalled) listeners.add(res)
  const event = `event: transition\ndata: ${JSON.stringify({ profile: 'v1', segment: 'vips', direction: 'entered', at: 'x' })}\n\n`
  for (let i = 0; i < 10_000; i++) listeners.send(event)
  assert.equal(reader.sent.length, 10_000, 'a client that reads gets every event')
  assert.equal(listeners.size, 1)
  assert.equal(listeners.dropped, 100)
  for (const res of stalled) {
    assert.ok(res.writableLength <= 4096, 'never buffered past the bound')
    assert.match(res.ended, /^event: close\ndata: .*reconnect/)
  }
})

test('the example server counts its listeners', async () => {
  const { child, base } = await start({ DATA_DIR: ':memory:' })
  try {
    const controller = new AbortController()
    const stream = await fetch(`${base}/transitions`, { signal: controller.signal })
    assert.equal(stream.status, 200)
    assert.deepEqual((await call(base, 'GET', '/stats')).body, { listeners: 1, dropped: 0 })
    controller.abort()
  } finally {
    child.kill()
  }
})
