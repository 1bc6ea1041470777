// Command comfyui-fake serves package comfytest's fake ComfyUI server on a
// TCP port. It exists for the container integration test of the comfyui
// provider, which builds it as a static binary into a busybox image; it is
// not part of sdform.
//
// It accepts ComfyUI's own --listen and --port flags, so a container
// started with sdform's default command shape works unchanged.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sdform/sdform/providers/comfyui/comfytest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "comfyui-fake:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8188, "port to listen on")
	dir := flag.String("dir", "", "folder for output/, input/ and temp/ (a temporary one when empty)")
	readyAfter := flag.Duration("ready-after", 0, "answer nothing until this long after start")
	hang := flag.String("hang-class", "", "node class that runs until /interrupt")
	fail := flag.String("fail-class", "", "node class that raises")
	flag.Parse()

	srv, err := comfytest.New(comfytest.Options{Dir: *dir, ReadyAfter: *readyAfter, HangClass: *hang, FailClass: *fail, Log: os.Stdout})
	if err != nil {
		return err
	}
	defer srv.Close()
	addr := net.JoinHostPort(*listen, strconv.Itoa(*port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("ComfyUI version: 0.8.0 (comfytest fake)\nStarting server\nTo see the GUI go to: http://%s\n", addr)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
