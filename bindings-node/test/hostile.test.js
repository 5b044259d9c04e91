// The hostile-input suite: each case of test-support/hostile-cases.js runs in a child process of its own,
// so a crash or an abort fails that case instead of ending the run, and a hang is cut off.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { cases } = require('../test-support/hostile-cases')

const script = path.join(__dirname, '..', 'test-support', 'hostile-cases.js')

for (const name of Object.keys(cases)) {
  test(`hostile: ${name}`, () => {
    const child = spawnSync(process.execPath, [script, name], { encoding: 'utf8', timeout: 60_000 })
    const said = `${child.stdout}\n${child.stderr}`
    assert.equal(child.signal, null, `the process died from ${child.signal}: ${said}`)
    assert.equal(child.status, 0, said)
    assert.equal(child.stdout.trim(), 'ok', said)
  })
}
