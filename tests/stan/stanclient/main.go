// Command stanclient is the tests' NATS Streaming client: it publishes N numbered messages
// and reads a channel from its first message, printing one JSON document on stdout.
//
//	stanclient pub -s URLS -c CLUSTER -id CLIENT -subject CH -n N -start K [-size BYTES] [-max-inflight M]
//	stanclient sub -s URLS -c CLUSTER -id CLIENT -subject CH -expect N [-lines]
//	stanclient durable -s URLS -c CLUSTER -id CLIENT -subject CH -durable NAME [-qgroup G -members M] -expect N [-unacked K]
//	stanclient stream -s URLS -c CLUSTER -id CLIENT -subject CH [-interval D] [-ack-wait D] [-listen ADDR]
//
// durable reads the channel from its first message with a durable (queue) subscription, acks
// every message, and closes the connection once N messages arrived without unsubscribing, so
// the server keeps the durable's position (next message N+1 when the channel held N).
//
// Payloads are "msg-<k>" with k counting from -start, so a reader can check that the
// channel holds every published message, once, in order. With -size, each payload is
// padded with '.' to that many bytes (the "msg-<k>" prefix is kept).
// stream publishes msg-1, msg-2, ... one at a time on one connection until it is told to
// stop (GET /stop on -listen, or SIGTERM), through whatever happens to the servers meanwhile:
// it prints one JSON line per publish as soon as its outcome is known ({"acked":k,...} only
// when the server acknowledged it), never publishes a number twice, and connects again
// (with a new client id) when the connection is lost. Made for running in a pod.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	stan "github.com/nats-io/stan.go"
)

type common struct {
	urls, cluster, client, subject string
	connectWait                    time.Duration
	timeout                        time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.urls, "s", "nats://127.0.0.1:4222", "comma separated NATS URLs")
	fs.StringVar(&c.cluster, "c", "test-cluster", "STAN cluster id")
	fs.StringVar(&c.client, "id", "stanclient", "STAN client id")
	fs.StringVar(&c.subject, "subject", "failover", "channel")
	fs.DurationVar(&c.connectWait, "connect-wait", 5*time.Second, "STAN connect request timeout")
	fs.DurationVar(&c.timeout, "timeout", 60*time.Second, "overall deadline")
}

func (c *common) connect(extra ...stan.Option) (stan.Conn, error) {
	opts := []stan.Option{stan.NatsURL(c.urls), stan.ConnectWait(c.connectWait), stan.PubAckWait(c.timeout)}
	return stan.Connect(c.cluster, c.client, append(opts, extra...)...)
}

// payload is "msg-<k>", padded with '.' to size bytes when size is larger.
func payload(k, size int) []byte {
	p := []byte(fmt.Sprintf("msg-%d", k))
	if len(p) < size {
		p = append(p, bytes.Repeat([]byte{'.'}, size-len(p))...)
	}
	return p
}

func emit(v interface{}, code int) {
	_ = json.NewEncoder(os.Stdout).Encode(v)
	os.Exit(code)
}

type pubResult struct {
	Published int      `json:"published"`
	Acked     int      `json:"acked"`
	Errors    []string `json:"errors"`
	ElapsedMS int64    `json:"elapsed_ms"`
	// PublishMS runs from the first publish call to the last ack (connect time excluded).
	PublishMS int64 `json:"publish_ms"`
}

func pub(args []string) {
	var c common
	fs := flag.NewFlagSet("pub", flag.ExitOnError)
	c.register(fs)
	n := fs.Int("n", 1000, "messages to publish")
	start := fs.Int("start", 1, "number of the first message")
	size := fs.Int("size", 0, "pad each payload to this many bytes (0: just msg-<k>)")
	maxInflight := fs.Int("max-inflight", stan.DefaultMaxPubAcksInflight, "published messages without an ack before PublishAsync blocks")
	_ = fs.Parse(args)

	res := pubResult{Errors: []string{}}
	t0 := time.Now()
	sc, err := c.connect(stan.MaxPubAcksInflight(*maxInflight))
	if err != nil {
		res.Errors = append(res.Errors, "connect: "+err.Error())
		emit(res, 1)
	}
	defer sc.Close()

	var mu sync.Mutex
	var wg sync.WaitGroup
	ack := func(_ string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.Errors = append(res.Errors, "ack: "+err.Error())
		} else {
			res.Acked++
		}
		wg.Done()
	}
	// Asynchronous publishes on one connection keep their order; the server acks each one
	// after storing it, so "acked" counts what the store holds.
	tPub := time.Now()
	for k := *start; k < *start+*n; k++ {
		wg.Add(1)
		if _, err := sc.PublishAsync(c.subject, payload(k, *size), ack); err != nil {
			wg.Done()
			mu.Lock()
			res.Errors = append(res.Errors, "publish: "+err.Error())
			mu.Unlock()
			break
		}
		mu.Lock()
		res.Published++
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.timeout):
		mu.Lock()
		res.Errors = append(res.Errors, "timed out waiting for acks")
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	res.PublishMS = time.Since(tPub).Milliseconds()
	res.ElapsedMS = time.Since(t0).Milliseconds()
	code := 0
	if len(res.Errors) > 0 || res.Acked != *n {
		code = 1
	}
	emit(res, code)
}

type received struct {
	Seq         uint64 `json:"seq"`
	Data        string `json:"data"`
	Redelivered bool   `json:"redelivered"`
	Timestamp   int64  `json:"timestamp"`
}

type subResult struct {
	Count     int        `json:"count"`
	Msgs      []received `json:"msgs"`
	Errors    []string   `json:"errors"`
	ElapsedMS int64      `json:"elapsed_ms"`
}

func sub(args []string) {
	var c common
	fs := flag.NewFlagSet("sub", flag.ExitOnError)
	c.register(fs)
	expect := fs.Int("expect", 0, "stop once this many messages arrived")
	settle := fs.Duration("settle", 500*time.Millisecond, "keep listening this long after -expect is reached, to catch extra messages")
	lines := fs.Bool("lines", false, "print one JSON line per message, then the result without msgs (for pod logs)")
	_ = fs.Parse(args)

	res := subResult{Msgs: []received{}, Errors: []string{}}
	t0 := time.Now()
	sc, err := c.connect()
	if err != nil {
		res.Errors = append(res.Errors, "connect: "+err.Error())
		emit(res, 1)
	}
	defer sc.Close()

	var mu sync.Mutex
	reached := make(chan struct{})
	var once sync.Once
	s, err := sc.Subscribe(c.subject, func(m *stan.Msg) {
		mu.Lock()
		res.Msgs = append(res.Msgs, received{Seq: m.Sequence, Data: string(m.Data), Redelivered: m.Redelivered, Timestamp: m.Timestamp})
		n := len(res.Msgs)
		mu.Unlock()
		if *expect > 0 && n >= *expect {
			once.Do(func() { close(reached) })
		}
	}, stan.DeliverAllAvailable(), stan.MaxInflight(1024))
	if err != nil {
		res.Errors = append(res.Errors, "subscribe: "+err.Error())
		emit(res, 1)
	}
	select {
	case <-reached:
		time.Sleep(*settle)
	case <-time.After(c.timeout):
		res.Errors = append(res.Errors, "timed out before receiving the expected messages")
	}
	_ = s.Unsubscribe()
	mu.Lock()
	defer mu.Unlock()
	res.Count = len(res.Msgs)
	res.ElapsedMS = time.Since(t0).Milliseconds()
	if *lines {
		enc := json.NewEncoder(os.Stdout)
		for _, m := range res.Msgs {
			_ = enc.Encode(m)
		}
		res.Msgs = []received{}
	}
	emit(res, 0)
}

type durableResult struct {
	Count     int      `json:"count"`
	LastSeq   uint64   `json:"last_seq"`
	PerMember []int    `json:"per_member"`
	Errors    []string `json:"errors"`
}

func durable(args []string) {
	var c common
	fs := flag.NewFlagSet("durable", flag.ExitOnError)
	c.register(fs)
	name := fs.String("durable", "", "durable name")
	qgroup := fs.String("qgroup", "", "queue group (empty: plain durable subscription)")
	members := fs.Int("members", 1, "queue group members, each on its own connection (<id>-<i>)")
	expect := fs.Int("expect", 0, "close once this many messages arrived (all acked)")
	settle := fs.Duration("settle", 500*time.Millisecond, "wait this long after the last ack before closing")
	unacked := fs.Int("unacked", 0, "leave the last N of the expected messages unacknowledged")
	_ = fs.Parse(args)

	res := durableResult{Errors: []string{}, PerMember: make([]int, *members)}
	var mu sync.Mutex
	reached := make(chan struct{})
	var once sync.Once
	conns := []stan.Conn{}
	for i := 0; i < *members; i++ {
		member := c
		if *members > 1 {
			member.client = fmt.Sprintf("%s-%d", c.client, i)
		}
		sc, err := member.connect()
		if err != nil {
			res.Errors = append(res.Errors, "connect: "+err.Error())
			emit(res, 1)
		}
		conns = append(conns, sc)
		idx := i
		handler := func(m *stan.Msg) {
			mu.Lock()
			skip := res.Count >= *expect-*unacked
			mu.Unlock()
			if skip {
				mu.Lock()
				res.Count++
				n := res.Count
				mu.Unlock()
				if n >= *expect {
					once.Do(func() { close(reached) })
				}
				return
			}
			if err := m.Ack(); err != nil {
				mu.Lock()
				res.Errors = append(res.Errors, "ack: "+err.Error())
				mu.Unlock()
				return
			}
			mu.Lock()
			res.Count++
			res.PerMember[idx]++
			if m.Sequence > res.LastSeq {
				res.LastSeq = m.Sequence
			}
			n := res.Count
			mu.Unlock()
			if n >= *expect {
				once.Do(func() { close(reached) })
			}
		}
		opts := []stan.SubscriptionOption{stan.DurableName(*name), stan.DeliverAllAvailable(), stan.SetManualAckMode(), stan.MaxInflight(256)}
		if *qgroup != "" {
			_, err = sc.QueueSubscribe(c.subject, *qgroup, handler, opts...)
		} else {
			_, err = sc.Subscribe(c.subject, handler, opts...)
		}
		if err != nil {
			res.Errors = append(res.Errors, "subscribe: "+err.Error())
			emit(res, 1)
		}
	}
	code := 0
	select {
	case <-reached:
	case <-time.After(c.timeout):
		res.Errors = append(res.Errors, "timed out before receiving the expected messages")
		code = 1
	}
	for _, sc := range conns {
		_ = sc.NatsConn().Flush()
	}
	time.Sleep(*settle)
	// Close, not Unsubscribe: the durable (queue) subscription and its position stay on the server.
	for _, sc := range conns {
		_ = sc.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	emit(res, code)
}

// streamEvent is one line of stream's output: the outcome of one publish, or a (re)connect.
type streamEvent struct {
	Acked  int    `json:"acked,omitempty"`
	Failed int    `json:"failed,omitempty"`
	Event  string `json:"event,omitempty"`
	Error  string `json:"error,omitempty"`
	// Unix time in milliseconds when the outcome was known.
	T int64 `json:"t"`
}

type streamSummary struct {
	Published int      `json:"published"`
	Acked     int      `json:"acked"`
	Failed    int      `json:"failed"`
	Connects  int      `json:"connects"`
	LastAcked int      `json:"last_acked"`
	MaxGapMS  int64    `json:"max_ack_gap_ms"`
	ElapsedMS int64    `json:"elapsed_ms"`
	StoppedBy string   `json:"stopped_by"`
	ClientIDs []string `json:"client_ids"`
}

func stream(args []string) {
	var c common
	fs := flag.NewFlagSet("stream", flag.ExitOnError)
	c.register(fs)
	interval := fs.Duration("interval", 10*time.Millisecond, "pause between two publishes")
	ackWait := fs.Duration("ack-wait", 2*time.Second, "how long one publish waits for its ack")
	listen := fs.String("listen", ":8080", "HTTP address for GET /status and GET /stop")
	maxDuration := fs.Duration("max-duration", 10*time.Minute, "stop by itself after this long")
	_ = fs.Parse(args)

	out := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex
	print := func(e streamEvent) {
		e.T = time.Now().UnixMilli()
		outMu.Lock()
		_ = out.Encode(e)
		outMu.Unlock()
	}

	var stopOnce sync.Once
	stopCh := make(chan string, 1)
	stop := func(by string) { stopOnce.Do(func() { stopCh <- by; close(stopCh) }) }
	var stopped atomic.Bool
	var stoppedBy string
	done := make(chan streamSummary, 1)
	var acked atomic.Int64
	var lastAck atomic.Int64

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { s := <-signals; stop(s.String()) }()
	go func() { time.Sleep(*maxDuration); stop("max-duration") }()
	go func() { stoppedBy = <-stopCh; stopped.Store(true) }()

	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{"acked": acked.Load(), "last_acked": lastAck.Load()})
	})
	var summary *streamSummary
	var summaryMu sync.Mutex
	mux.HandleFunc("/stop", func(w http.ResponseWriter, _ *http.Request) {
		stop("http")
		summaryMu.Lock()
		if summary == nil {
			s := <-done
			summary = &s
		}
		s := *summary
		summaryMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	go func() { _ = http.ListenAndServe(*listen, mux) }()

	res := streamSummary{ClientIDs: []string{}}
	t0 := time.Now()
	// The NATS connection notices a dead server within a few seconds (pings every second,
	// two missed) and reconnects to another one for ever; the STAN session is checked the same way.
	nc, sc := (*nats.Conn)(nil), stan.Conn(nil)
	lost := make(chan error, 1)
	connect := func() bool {
		for !stopped.Load() {
			id := c.client
			if res.Connects > 0 {
				id = fmt.Sprintf("%s-%d", c.client, res.Connects)
			}
			res.Connects++
			var err error
			nc, err = nats.Connect(c.urls, nats.Name(id), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
				nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2), nats.Timeout(time.Second))
			if err == nil {
				sc, err = stan.Connect(c.cluster, id, stan.NatsConn(nc), stan.ConnectWait(c.connectWait),
					stan.PubAckWait(*ackWait), stan.Pings(1, 3),
					stan.SetConnectionLostHandler(func(_ stan.Conn, err error) {
						select {
						case lost <- err:
						default:
						}
					}))
				if err == nil {
					res.ClientIDs = append(res.ClientIDs, id)
					print(streamEvent{Event: "connected " + id})
					return true
				}
				nc.Close()
			}
			print(streamEvent{Event: "connect failed " + id, Error: err.Error()})
			time.Sleep(200 * time.Millisecond)
		}
		return false
	}
	closeConn := func() {
		if sc != nil {
			_ = sc.Close()
		}
		if nc != nil {
			nc.Close()
		}
		sc, nc = nil, nil
	}

	prev := time.Now()
	for k := 1; !stopped.Load(); k++ {
		if sc == nil && !connect() {
			break
		}
		err := sc.Publish(c.subject, payload(k, 0))
		res.Published++
		if err == nil {
			now := time.Now()
			if gap := now.Sub(prev).Milliseconds(); gap > res.MaxGapMS && res.Acked > 0 {
				res.MaxGapMS = gap
			}
			prev = now
			res.Acked++
			res.LastAcked = k
			acked.Add(1)
			lastAck.Store(int64(k))
			print(streamEvent{Acked: k})
		} else {
			res.Failed++
			print(streamEvent{Failed: k, Error: err.Error()})
		}
		select {
		case err := <-lost:
			print(streamEvent{Event: "connection lost", Error: err.Error()})
			closeConn()
		default:
			if errors.Is(err, stan.ErrConnectionClosed) || errors.Is(err, stan.ErrBadConnection) {
				closeConn()
			}
		}
		time.Sleep(*interval)
	}
	closeConn()
	for !stopped.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	res.StoppedBy = stoppedBy
	res.ElapsedMS = time.Since(t0).Milliseconds()
	done <- res
	outMu.Lock()
	_ = out.Encode(map[string]streamSummary{"summary": res})
	outMu.Unlock()
	// Let a GET /stop that is waiting for the summary answer before the process ends.
	time.Sleep(500 * time.Millisecond)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stanclient pub|sub|durable [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pub":
		pub(os.Args[2:])
	case "sub":
		sub(os.Args[2:])
	case "stream":
		stream(os.Args[2:])
	case "durable":
		durable(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
