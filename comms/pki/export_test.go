package pki

// SetSigCacheMax lets tests fill the signature cache with a few certificates.
func SetSigCacheMax(v *Verifier, n int) { v.sigMax = n }

// SigCacheLen is how many signatures the cache holds.
func SigCacheLen(v *Verifier) int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.sigOK)
}
