// Command stanclient is the tests' NATS Streaming client: it publishes N numbered messages
// and reads a channel from its first message, printing one JSON document on stdout.
//
//	stanclient pub -s URLS -c CLUSTER -id CLIENT -subject CH -n N -start K [-size BYTES] [-max-inflight M]
//	stanclient sub -s URLS -c CLUSTER -id CLIENT -subject CH -expect N
//	stanclient durable -s URLS -c CLUSTER -id CLIENT -subject CH -durable NAME [-qgroup G -members M] -expect N [-unacked K]
//
// durable reads the channel from its first message with a durable (queue) subscription, acks
// every message, and closes the connection once N messages arrived without unsubscribing, so
// the server keeps the durable's position (next message N+1 when the channel held N).
//
// Payloads are "msg-<k>" with k counting from -start, so a reader can check that the
// channel holds every published message, once, in order. With -size, each payload is
// padded with '.' to that many bytes (the "msg-<k>" prefix is kept).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

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
	case "durable":
		durable(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
