package envelope

import (
	"crypto/ed25519"
	"runtime"
	"sync"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Result is the outcome for one message of a batch: Msg or Err, never both.
type Result struct {
	Msg *Message
	Err error
}

// minChunk is the smallest share of a batch given to one worker: below it,
// the batch equation saves too little over single verification to be worth
// splitting (measured by BenchmarkOpenBatch).
const minChunk = 32

// OpenBatch opens many messages at time now. The batch is cut into one
// contiguous chunk per worker (up to GOMAXPROCS); each worker decrypts and
// parses its chunk and checks all its signatures with one Ed25519 batch
// verification, which also tells which signatures are bad when the batch
// equation fails, so only the bad messages are rejected. Results are in input
// order and equal what Open would return for each message (both apply
// verifyOpts).
func (o *Opener) OpenBatch(sealed [][]byte, now time.Time) []Result {
	out := make([]Result, len(sealed))
	workers := min(runtime.GOMAXPROCS(0), (len(sealed)+minChunk-1)/minChunk)
	if workers <= 1 {
		o.openChunk(sealed, out, now)
		return out
	}
	size := (len(sealed) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(sealed); lo += size {
		hi := min(lo+size, len(sealed))
		wg.Go(func() { o.openChunk(sealed[lo:hi], out[lo:hi], now) })
	}
	wg.Wait()
	return out
}

type pendingSig struct {
	i    int
	sm   *signedMsg
	pubs []ed25519.PublicKey
}

func (o *Opener) openChunk(in [][]byte, out []Result, now time.Time) {
	var (
		pending []pendingSig
		keys    []*voi.ExpandedPublicKey
		msgs    [][]byte
		sigs    [][]byte
	)
	for i, m := range in {
		msg, sm, pubs, err := o.prepare(m, now)
		out[i] = Result{Msg: msg, Err: err}
		if err != nil || sm == nil {
			continue
		}
		// The batch checks each message against its most likely key; a
		// failure falls back to the sender's other keys, one by one.
		if x, err := o.expanded.get(pubs[0]); err == nil {
			pending = append(pending, pendingSig{i: i, sm: sm, pubs: pubs})
			keys, msgs, sigs = append(keys, x), append(msgs, sm.tbs), append(sigs, sm.sig)
		} else if err := o.verifyFrom(msg.Header, sm, pubs, 1); err != nil {
			out[i] = Result{Err: err}
		}
	}
	var valid []bool
	switch len(pending) {
	case 0:
		return
	case 1: // a batch of one only adds work
		valid = []bool{verifyOne(keys[0], msgs[0], sigs[0])}
	default:
		valid = verifyMany(keys, msgs, sigs)
	}
	for j, ok := range valid {
		if ok {
			continue
		}
		p := pending[j]
		if err := o.verifyFrom(out[p.i].Msg.Header, p.sm, p.pubs, 1); err != nil {
			out[p.i] = Result{Err: err}
		}
	}
}
