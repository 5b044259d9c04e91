// The shared corpus in testdata/conformance, through the Node API: the same audiences and
// predicates, the same expected members (or error codes) as the Rust and Python suites.
'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { load } = require('../test-support/corpus')

const dir = path.join(__dirname, '..', '..', 'testdata', 'conformance')
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()

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
