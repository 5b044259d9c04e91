// Live membership from Node: transitions on writes (drained, or delivered to subscribers),
// time-driven transitions stamped with the instant they happened, a `setTimeout`-style loop
// driven by nextChangeAt, the bounded queue, and the error codes.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Audience } = require('..')

function liveAudience() {
  const a = new Audience('Europe/Stockholm')
  a.declareEvent('purchase')
  a.define('recent_buyers', 'did purchase in last 30d')
  a.define('vips', 'tag "vip"')
  a.startLive('2024-06-01T00:00:00Z')
  return a
}

const code = (f) => {
  try {
    f()
  } catch (e) {
    return e.code
  }
  return 'no error'
}

test('writes queue transitions until drained', () => {
  const a = liveAudience()
  assert.equal(a.clock.toISOString(), '2024-06-01T00:00:00.000Z')
  a.track('ada', 'purchase', '2024-06-01T00:00:00Z')
  a.tag('bob', 'vip', '2024-06-01T00:00:00Z')
  assert.equal(a.queuedTransitions, 2)
  const moved = a.drainTransitions().map((t) => [t.profile, t.segment, t.direction, t.at])
  assert.deepEqual(moved, [
    ['ada', 'recent_buyers', 'entered', '2024-06-01T00:00:00Z'],
    ['bob', 'vips', 'entered', '2024-06-01T00:00:00Z'],
  ])
  assert.deepEqual(a.liveMembers('vips'), ['bob'])
  assert.deepEqual([...a.liveMemberSlots('recent_buyers')], [0])
})

test('subscribers receive every write and every advance', () => {
  const a = liveAudience()
  const seen = []
  const id = a.subscribe((ts) => {
    for (const t of ts) seen.push(`${t.profile} ${t.direction} ${t.segment}`)
    return 'ignored'
  })
  a.track('ada', 'purchase', '2024-06-01T00:00:00Z')
  a.trackMany([{ id: 'cyd', name: 'purchase', at: '2024-06-01T00:00:00Z' }])
  assert.equal(a.queuedTransitions, 0)
  const left = a.advanceTo('2024-08-01T00:00:00Z')
  assert.equal(left.length, 2)
  assert.deepEqual(seen, [
    'ada entered recent_buyers',
    'cyd entered recent_buyers',
    'ada left recent_buyers',
    'cyd left recent_buyers',
  ])
  assert.equal(a.unsubscribe(id), true)
  assert.equal(a.unsubscribe(id), false)
  a.tag('ada', 'vip', '2024-08-01T00:00:00Z')
  assert.equal(seen.length, 4)
  assert.equal(a.queuedTransitions, 1)
  assert.equal(code(() => a.subscribe('not a function')), 'SEGCORE_ARGUMENT')
})

test('a subscriber that throws does not stop the others, and its error surfaces', () => {
  const a = liveAudience()
  let called = 0
  a.subscribe(() => {
    throw new Error('boom')
  })
  a.subscribe(() => {
    called += 1
  })
  assert.throws(() => a.tag('ada', 'vip', '2024-06-01T00:00:00Z'), /boom/)
  assert.equal(called, 1)
  assert.deepEqual(a.liveMembers('vips'), ['ada'], 'the write was applied')
})

test('a timer loop driven by nextChangeAt fires each exit at its instant', () => {
  const a = liveAudience()
  a.track('ada', 'purchase', '2024-06-01T00:00:00Z')
  a.track('bob', 'purchase', '2024-06-10T00:00:00Z')
  a.drainTransitions()
  const fired = []
  // What a service does with setTimeout: sleep until the next change, advance to it.
  for (let due = a.nextChangeAt(); due !== null; due = a.nextChangeAt()) {
    for (const t of a.advanceTo(due)) fired.push([t.profile, t.direction, t.at])
  }
  // bob's purchase is stamped after the clock: it counts once the clock reaches it.
  assert.deepEqual(fired, [
    ['bob', 'entered', '2024-06-10T00:00:00Z'],
    ['ada', 'left', '2024-07-01T00:00:00.000000001Z'],
    ['bob', 'left', '2024-07-10T00:00:00.000000001Z'],
  ])
  // Dates hold milliseconds: the instant is rounded up so advancing to it takes it in.
  assert.equal(a.clock.toISOString(), '2024-07-10T00:00:00.001Z')
})

test('bad live calls throw with stable codes and change nothing', () => {
  const a = new Audience()
  assert.equal(code(() => a.advanceTo('2024-01-01T00:00:00Z')), 'SEGCORE_NOT_LIVE')
  assert.equal(a.clock, null)
  assert.equal(a.nextChangeAt(), null)
  a.define('vips', 'tag "vip"')
  a.startLive('2024-06-01T00:00:00Z')
  assert.equal(code(() => a.advanceTo('2024-05-01T00:00:00Z')), 'SEGCORE_CLOCK_BACKWARDS')
  a.setQueueCapacity(1)
  a.tag('ada', 'vip', '2024-06-01T00:00:00Z')
  assert.equal(code(() => a.tag('bob', 'vip', '2024-06-01T00:00:00Z')), 'SEGCORE_QUEUE_FULL')
  assert.equal(a.has('bob'), false)
  assert.equal(a.drainTransitions().length, 1)
  assert.equal(code(() => a.setQueueCapacity(0)), 'SEGCORE_INVALID_VALUE')
  assert.equal(code(() => a.liveMembers('vip')), 'SEGCORE_UNKNOWN_NAME')
  a.stopLive()
  assert.equal(a.clock, null)
})

test('advanceToAsync moves the clock on a worker and hands subscribers the transitions', async () => {
  const a = liveAudience()
  const heard = []
  a.subscribe((ts) => heard.push(...ts.map((t) => `${t.profile} ${t.direction}`)))
  a.track('ada', 'purchase', '2024-06-01T00:00:00Z')
  const left = await a.advanceToAsync('2024-08-01T00:00:00Z')
  assert.deepEqual(left.map((t) => t.direction), ['left'])
  assert.deepEqual(heard, ['ada entered', 'ada left'])
  await assert.rejects(a.advanceToAsync('2024-01-01T00:00:00Z'), { code: 'SEGCORE_CLOCK_BACKWARDS' })
  await assert.rejects(a.advanceToAsync({}), { code: 'SEGCORE_ARGUMENT' })
})

test('a subscriber may write, subscribe and unsubscribe without deadlocking', () => {
  const a = new Audience()
  a.declareAttribute('k', 'string')
  a.define('keyed', 'k exists')
  a.startLive('2024-06-01T00:00:00Z')
  const seen = []
  let wrote = false
  const id = a.subscribe((moved) => {
    for (const t of moved) seen.push(`${t.profile} ${t.direction}`)
    // A write from inside the callback: its transitions are delivered after this batch.
    if (!wrote) {
      wrote = true
      a.upsert('r', { k: 'v' })
    }
  })
  let once = 0
  const selfRemoving = a.subscribe(() => {
    once += 1
    assert.equal(a.unsubscribe(selfRemoving), true)
  })
  a.upsert('r0', { k: 'v' })
  assert.deepEqual(seen, ['r0 entered', 'r entered'])
  assert.equal(once, 1)
  a.upsert('r1', { k: 'v' })
  assert.deepEqual(seen, ['r0 entered', 'r entered', 'r1 entered'])
  assert.equal(once, 1)
  assert.equal(a.unsubscribe(id), true)
})
