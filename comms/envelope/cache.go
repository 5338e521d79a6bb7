package envelope

import (
	"container/list"
	"crypto/hpke"
	"sync"
)

// recipientCache is a bounded LRU of HPKE recipient contexts keyed by enc.
// Only Export is called on cached contexts, which reads immutable state, so
// one context may serve many goroutines at once.
type recipientCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheEntry
	byEnc map[[encLen]byte]*list.Element
}

type cacheEntry struct {
	enc [encLen]byte
	r   *hpke.Recipient
}

func newRecipientCache(max int) *recipientCache {
	return &recipientCache{max: max, order: list.New(), byEnc: make(map[[encLen]byte]*list.Element)}
}

func (c *recipientCache) get(enc [encLen]byte) (*hpke.Recipient, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byEnc[enc]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).r, true
}

func (c *recipientCache) put(enc [encLen]byte, r *hpke.Recipient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byEnc[enc]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byEnc[enc] = c.order.PushFront(&cacheEntry{enc: enc, r: r})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byEnc, last.Value.(*cacheEntry).enc)
	}
}

func (c *recipientCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
