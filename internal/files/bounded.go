package files

import "io"

// Bounded is rc failing a read past max bytes with tooLarge, instead of
// reading on or cutting the stream short: for answers of servers.
func Bounded(rc io.ReadCloser, max int64, tooLarge error) io.ReadCloser {
	return &bounded{rc: rc, left: max, err: tooLarge}
}

type bounded struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, b.err
	}
	n, err := b.rc.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	return n, err
}

func (b *bounded) Close() error { return b.rc.Close() }
