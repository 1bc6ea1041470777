package docker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"

	mobyclient "github.com/moby/moby/client"
)

// dialExecStdio runs `buildctl dial-stdio` in a container through the Engine's
// exec API and returns its stdin/stdout as a connection to the container's
// buildkitd: the docker-container backend without the docker CLI.
func dialExecStdio(ctx context.Context, engine *mobyclient.Client, container string) (net.Conn, error) {
	ex, err := engine.ExecCreate(ctx, container, mobyclient.ExecCreateOptions{
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          []string{"buildctl", "dial-stdio"},
	})
	if err != nil {
		return nil, fmt.Errorf("create exec in container %s: %w", container, err)
	}
	at, err := engine.ExecAttach(ctx, ex.ID, mobyclient.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("attach exec in container %s: %w", container, err)
	}
	return &stdioConn{Conn: at.Conn, r: newDemuxReader(at.Reader)}, nil
}

// stdioConn reads the exec's demultiplexed stdout and writes its stdin.
type stdioConn struct {
	net.Conn
	r io.Reader
}

func (c *stdioConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// demuxReader strips the Engine's stream framing from a non-TTY attach: each
// frame is an 8-byte header (stream id, three zero bytes, big-endian length)
// and a payload. Stdout frames are passed on; stderr frames are kept for the
// error that explains an early end.
type demuxReader struct {
	src    io.Reader
	mu     sync.Mutex
	left   int  // bytes of the current stdout frame not yet read
	seen   bool // some stdout came through
	stderr bytes.Buffer
}

func newDemuxReader(src io.Reader) *demuxReader { return &demuxReader{src: src} }

func (d *demuxReader) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.left == 0 {
		var hdr [8]byte
		if _, err := io.ReadFull(d.src, hdr[:]); err != nil {
			// A cut frame, or an end before any stdout with something on
			// stderr ("buildctl: not found"), is an early end worth naming.
			if err == io.ErrUnexpectedEOF || (err == io.EOF && !d.seen && d.stderr.Len() > 0) {
				return 0, fmt.Errorf("buildctl dial-stdio ended: %s", bytes.TrimSpace(d.stderr.Bytes()))
			}
			return 0, err
		}
		n := int(binary.BigEndian.Uint32(hdr[4:]))
		switch hdr[0] {
		case 1:
			d.left, d.seen = n, true
		default:
			// stderr (2) and anything else: keep the tail for messages.
			if _, err := io.CopyN(&d.stderr, d.src, int64(n)); err != nil {
				return 0, err
			}
			if d.stderr.Len() > 4096 {
				d.stderr.Next(d.stderr.Len() - 4096)
			}
		}
	}
	if len(p) > d.left {
		p = p[:d.left]
	}
	n, err := d.src.Read(p)
	d.left -= n
	return n, err
}
