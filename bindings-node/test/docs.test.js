// The Node examples in README.md and docs/node.md run as written.
'use strict'
const test = require('node:test')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..', '..')
const pkg = path.join(__dirname, '..')

for (const doc of ['README.md', path.join('docs', 'node.md')]) {
  test(`${doc} examples run`, () => {
    const text = fs.readFileSync(path.join(root, doc), 'utf8')
    const blocks = [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
    if (blocks.length === 0) throw new Error(`no js examples in ${doc}`)
    for (const code of blocks) {
      const local = (name) => require(name === 'segcore' ? pkg : name)
      new Function('require', code)(local)
    }
  })
}
