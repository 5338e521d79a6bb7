package bus

// KeptCertificates is how many admitted certificates s keeps for Reverify.
func KeptCertificates(s *Server) int { return s.peers.len() }

// SetKeepSlack lowers s's slack before it forgets closed connections'
// certificates, so that a test needs few connections to pass it.
func SetKeepSlack(s *Server, n int) { s.keepSlack.Store(int64(n)) }

// SetEvictorPage lowers how many connections e asks for per CONNZ page, so
// that a test needs few connections to page.
func SetEvictorPage(e *Evictor, n int) { e.page = n }
