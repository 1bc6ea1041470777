// Command weightserver serves a folder over HTTP on a loopback address, as a
// model hub serves weight files (HEAD with Content-Length, byte ranges), so
// that the quickstart's comfyui_model downloads without leaving the machine.
//
//	go run ./examples/quickstart/weightserver -addr 127.0.0.1:18080 -dir examples/quickstart/weights
//
// It refuses any address that is not loopback.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "loopback `HOST:PORT` to listen on")
	dir := flag.String("dir", "examples/quickstart/weights", "`DIR` to serve")
	flag.Parse()
	if err := serve(*addr, *dir); err != nil {
		fmt.Fprintf(os.Stderr, "weightserver: %v\n", err)
		os.Exit(1)
	}
}

func serve(addr, dir string) error {
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
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Printf("serving %s at http://%s/\n", dir, ln.Addr())
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
