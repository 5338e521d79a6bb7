package envelope

import (
	"crypto/ed25519"
	"runtime"
	"sync"
	"time"

	"github.com/hdevalence/ed25519consensus"
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
// verification. If a batch equation fails, the worker verifies that chunk's
// signatures one by one so that only the bad messages are rejected. Results
// are in input order and equal what Open would return for each message
// (ed25519consensus applies the same ZIP-215 rules to both).
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
	i   int
	pub ed25519.PublicKey
	sm  *signedMsg
}

func (o *Opener) openChunk(in [][]byte, out []Result, now time.Time) {
	pending := make([]pendingSig, 0, len(in))
	for i, m := range in {
		msg, sm, pub, err := o.prepare(m, now)
		out[i] = Result{Msg: msg, Err: err}
		if err == nil && sm != nil {
			pending = append(pending, pendingSig{i: i, pub: pub, sm: sm})
		}
	}
	if batchOK(pending) {
		return
	}
	for _, p := range pending {
		if !ed25519consensus.Verify(p.pub, p.sm.tbs, p.sm.sig) {
			out[p.i] = Result{Err: ErrBadSignature}
		}
	}
}

// batchOK reports whether every pending signature is valid. A single
// signature goes straight to the per-message path, where a batch of one
// would only add work.
func batchOK(pending []pendingSig) bool {
	switch len(pending) {
	case 0:
		return true
	case 1:
		return false
	}
	v := ed25519consensus.NewPreallocatedBatchVerifier(len(pending))
	for _, p := range pending {
		v.Add(p.pub, p.sm.tbs, p.sm.sig)
	}
	return v.Verify()
}
