// Command weightserver serves a folder over HTTP on a loopback address, as a
// model hub serves weight files (HEAD with Content-Length, byte ranges), so
// that the quickstart's comfyui_model downloads without leaving the machine.
//
//	go run ./examples/quickstart/weightserver -addr 127.0.0.1:18080 -dir examples/quickstart/weights
//
// It refuses any address that is not loopback. With -any-port, a port
// already in use is replaced by a free one; -addr-file names a file that
// receives the address actually listened on, for scripts to read.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "loopback `HOST:PORT` to listen on")
	dir := flag.String("dir", "examples/quickstart/weights", "`DIR` to serve")
	anyPort := flag.Bool("any-port", false, "listen on a free port when the one in -addr is taken")
	addrFile := flag.String("addr-file", "", "write the address listened on to `FILE`")
	flag.Parse()
	if err := serve(*addr, *dir, *anyPort, *addrFile); err != nil {
		fmt.Fprintf(os.Stderr, "weightserver: %v\n", err)
		os.Exit(1)
	}
}

func serve(addr, dir string, anyPort bool, addrFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("parse address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP address: the server is for this machine only", addr)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("serve %s: not a directory", dir)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && anyPort && errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(os.Stderr, "weightserver: %s is taken; listening on a free port instead\n", addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			return fmt.Errorf("write the address: %w", err)
		}
	}
	fmt.Printf("serving %s at http://%s/\n", dir, ln.Addr())
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
