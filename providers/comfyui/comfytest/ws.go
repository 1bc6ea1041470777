package comfytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// hub holds the WebSocket clients by client id, as server.py's sockets
// dict does: a new connection with the same id replaces the old one.
type hub struct {
	mu      sync.Mutex
	clients map[string]*wsClient
}

type wsClient struct {
	sid  string
	conn *websocket.Conn
	out  chan []byte
	gone chan struct{}
	once sync.Once
}

func newHub() *hub { return &hub{clients: map[string]*wsClient{}} }

func (c *wsClient) drop() {
	c.once.Do(func() {
		close(c.gone)
		c.conn.CloseNow()
	})
}

// send queues a message for one client (sid) or, with sid "", for all.
func (h *hub) send(sid string, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sid != "" {
		if c, ok := h.clients[sid]; ok {
			c.enqueue(msg)
		}
		return
	}
	for _, c := range h.clients {
		c.enqueue(msg)
	}
}

func (c *wsClient) enqueue(msg []byte) {
	select {
	case c.out <- msg:
	case <-c.gone:
	default:
		// A client that reads nothing for thousands of messages is gone.
		go c.drop()
	}
}

// closeAll drops every connection without a close frame.
func (h *hub) closeAll() {
	h.mu.Lock()
	clients := make([]*wsClient, 0, len(h.clients))
	for _, c := range h.clients {
		clients = append(clients, c)
	}
	h.clients = map[string]*wsClient{}
	h.mu.Unlock()
	for _, c := range clients {
		c.drop()
	}
}

func message(typ string, data any) []byte {
	b, err := json.Marshal(omap{{"type", typ}, {"data", data}})
	if err != nil {
		panic(fmt.Sprintf("comfytest: marshal %s: %v", typ, err))
	}
	return b
}

// serveWS is server.py's websocket_handler.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	// Origin was checked by the middleware, as ComfyUI does for every route.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	conn.SetReadLimit(1 << 20)
	sid := r.URL.Query().Get("clientId")
	if sid == "" {
		sid = newHex()
	}
	c := &wsClient{sid: sid, conn: conn, out: make(chan []byte, 4096), gone: make(chan struct{})}
	s.mu.Lock()
	s.hub.mu.Lock()
	if old, ok := s.hub.clients[sid]; ok {
		go old.drop()
	}
	s.hub.clients[sid] = c
	c.enqueue(message("status", omap{{"status", s.queueInfoLocked()}, {"sid", sid}}))
	if s.clientID == sid && s.lastNode != "" {
		c.enqueue(message("executing", omap{{"node", s.lastNode}}))
	}
	s.hub.mu.Unlock()
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		defer c.drop()
		first := true
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m struct {
				Type string `json:"type"`
			}
			if first && json.Unmarshal(data, &m) == nil && m.Type == "feature_flags" {
				c.enqueue(message("feature_flags", serverFeatures()))
			}
			first = false
		}
	}()
	defer func() {
		s.hub.mu.Lock()
		if s.hub.clients[sid] == c {
			delete(s.hub.clients, sid)
		}
		s.hub.mu.Unlock()
		c.drop()
	}()
	for {
		select {
		case msg := <-c.out:
			if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
				return
			}
		case <-c.gone:
			return
		case <-ctx.Done():
			return
		}
	}
}

func newHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
