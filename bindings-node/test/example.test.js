// examples/node/server.js, run as README says, answers over HTTP.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')

const server = path.join(__dirname, '..', '..', 'examples', 'node', 'server.js')

function start() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [server], { env: { ...process.env, PORT: '0' } })
    child.stdout.setEncoding('utf8')
    child.stdout.once('data', (line) => {
      const port = /localhost:(\d+)/.exec(line)
      if (port) resolve({ child, base: `http://localhost:${port[1]}` })
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
    assert.deepEqual((await call(base, 'GET', '/visitors/v2/segments')).body.segments, ['window_shoppers'])
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
