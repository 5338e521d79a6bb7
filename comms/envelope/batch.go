package envelope

import (
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
	i  int
	sm *signedMsg
}

func (o *Opener) openChunk(in [][]byte, out []Result, now time.Time) {
	var (
		pending []pendingSig
		keys    []*voi.ExpandedPublicKey
		msgs    [][]byte
		sigs    [][]byte
	)
	for i, m := range in {
		msg, sm, pub, err := o.prepare(m, now)
		if err == nil && sm != nil {
			var x *voi.ExpandedPublicKey
			if x, err = o.expanded.get(pub); err == nil {
				pending = append(pending, pendingSig{i: i, sm: sm})
				keys, msgs, sigs = append(keys, x), append(msgs, sm.tbs), append(sigs, sm.sig)
			} else {
				msg, err = nil, ErrBadSignature
			}
		}
		out[i] = Result{Msg: msg, Err: err}
	}
	switch len(pending) {
	case 0:
		return
	case 1: // a batch of one only adds work
		if !verifyOne(keys[0], msgs[0], sigs[0]) {
			out[pending[0].i] = Result{Err: ErrBadSignature}
		}
		return
	}
	for j, ok := range verifyMany(keys, msgs, sigs) {
		if !ok {
			out[pending[j].i] = Result{Err: ErrBadSignature}
		}
	}
}
