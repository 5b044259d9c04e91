// Server-sent-event listeners with a bound on what each may fall behind. A client that stops
// reading would otherwise make the server buffer every event for it until memory runs out
// (100 such clients took V8 to out-of-memory). Each listener's unsent bytes are watched
// (`res.writableLength`); one that holds more than `maxBuffered` is sent a last
// `event: close` saying why, ended, and dropped (its socket destroyed a moment later, so a
// client that never reads releases its buffer too).
'use strict'

class Listeners {
  constructor(maxBuffered) {
    this.maxBuffered = maxBuffered
    this.open = new Set()
    this.dropped = 0
  }

  add(res) {
    this.open.add(res)
    res.on('close', () => this.open.delete(res))
  }

  get size() {
    return this.open.size
  }

  /** Sends one event to every listener, dropping those too far behind to take it. */
  send(text) {
    for (const res of this.open) {
      if (res.writableLength + text.length > this.maxBuffered) {
        this.drop(res)
        continue
      }
      res.write(text)
    }
  }

  drop(res) {
    this.open.delete(res)
    this.dropped += 1
    const reason = JSON.stringify({ reason: `more than ${this.maxBuffered} bytes unread: reconnect to follow again` })
    res.end(`event: close\ndata: ${reason}\n\n`)
    setTimeout(() => res.destroy(), 1000).unref()
  }
}

module.exports = { Listeners }
