// The package as npm would ship it: `npm pack`, install the tarball into an empty directory,
// and use it from there. A file missing from "files" or a broken loader fails here.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const quiet = { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }

test('the packed tarball installs and works', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segcore-pack-'))
  try {
    const packed = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], {
      ...quiet,
      cwd: path.join(__dirname, '..'),
    })
    const [{ filename, files }] = JSON.parse(packed)
    const names = files.map((f) => f.path)
    for (const expected of ['index.js', 'index.d.ts', 'package.json']) {
      assert.ok(names.includes(expected), `${expected} is packed: ${names.join(', ')}`)
    }
    assert.ok(names.some((n) => n.endsWith('.node')), `the addon is packed: ${names.join(', ')}`)

    const app = path.join(dir, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}')
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--offline', path.join(dir, filename)], {
      ...quiet,
      cwd: app,
    })
    const script = `
      const { Audience, version } = require('segcore')
      const a = new Audience()
      a.upsert('ada', { country: 'SE' })
      process.stdout.write(JSON.stringify([version(), a.members('country == "SE"')]))
    `
    const out = execFileSync(process.execPath, ['-e', script], { ...quiet, cwd: app })
    assert.deepEqual(JSON.parse(out), [require('../package.json').version, ['ada']])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
