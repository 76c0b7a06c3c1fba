// WcfSession.exe: a sessionful duplex WCF service and its client in one program, for the net.tcp
// session interop suite (test/interop/net-tcp-sessions.test.ts).
//
//   mono WcfSession.exe serve --tcp net.tcp://127.0.0.1:P/session
//       hosts SessionService (SessionMode.Required, PerSession, a CallbackContract); prints
//       `READY {json}`, one JSON line per session opened/closed; exits when stdin closes.
//   mono WcfSession.exe client --address net.tcp://…/session [--scenario a,b,…] [--timeout S]
//       runs each scenario on DuplexChannelFactory<ISession> and prints one JSON line per scenario.
//
// The service is PerSession (WCF's default) with a counter per session, an IsTerminating operation,
// and callbacks: one-way during an operation, one-way from a timer after it returned, and two-way
// during an operation (ConcurrencyMode.Reentrant, so the service may wait on its client).
using System;
using System.Collections.Generic;
using System.Linq;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.Threading;

namespace RelayBridge.Interop
{
    public static class SessionNames
    {
        public const string Ns = "urn:relaybridge:sessions";
    }

    [ServiceContract(Namespace = SessionNames.Ns, SessionMode = SessionMode.Required, CallbackContract = typeof(ISessionCallback))]
    public interface ISession
    {
        [OperationContract] int Increment();
        [OperationContract] string SessionId();
        [OperationContract(IsTerminating = true)] void Terminate();
        [OperationContract] int AddWithProgress(int a, int b);
        [OperationContract] void NotifyLater(int ms);
        [OperationContract] string Ask(string q);
    }

    // The same session semantics without callbacks (a plain ChannelFactory; Mono 6.8's duplex client
    // hangs on its first call, so Mono covers sessions through this one).
    [ServiceContract(Namespace = SessionNames.Ns, SessionMode = SessionMode.Required)]
    public interface ICounter
    {
        [OperationContract] int Increment();
        [OperationContract] string SessionId();
        [OperationContract(IsTerminating = true)] void Terminate();
    }

    [ServiceBehavior(InstanceContextMode = InstanceContextMode.PerSession, AddressFilterMode = AddressFilterMode.Any)]
    public class CounterService : ICounter, IDisposable
    {
        readonly string id = Guid.NewGuid().ToString("N");
        int counter;

        public CounterService() { SessionProgram.Emit(new JsonObject().Set("event", "session-open").Set("id", id)); }

        public int Increment() { return ++counter; }

        public string SessionId() { return id; }

        public void Terminate() { }

        public void Dispose() { SessionProgram.Emit(new JsonObject().Set("event", "session-close").Set("id", id)); }
    }

    public interface ISessionCallback
    {
        [OperationContract(IsOneWay = true)] void Progress(int value);
        [OperationContract(IsOneWay = true)] void Later(string session);
        [OperationContract] string Question(string q);
    }

    [ServiceBehavior(InstanceContextMode = InstanceContextMode.PerSession, ConcurrencyMode = ConcurrencyMode.Reentrant,
        AddressFilterMode = AddressFilterMode.Any)]
    public class SessionService : ISession, IDisposable
    {
        readonly string id = Guid.NewGuid().ToString("N");
        int counter;
        Timer timer;

        public SessionService()
        {
            SessionProgram.Emit(new JsonObject().Set("event", "session-open").Set("id", id));
        }

        public int Increment() { return ++counter; }

        public string SessionId() { return id; }

        public void Terminate() { }

        public int AddWithProgress(int a, int b)
        {
            OperationContext.Current.GetCallbackChannel<ISessionCallback>().Progress(a);
            return a + b;
        }

        public void NotifyLater(int ms)
        {
            var callback = OperationContext.Current.GetCallbackChannel<ISessionCallback>();
            timer = new Timer(_ =>
            {
                try { callback.Later(id); } catch (Exception e) { SessionProgram.Emit(new JsonObject().Set("event", "callback-failed").Set("error", e.Message)); }
            }, null, ms, Timeout.Infinite);
        }

        public string Ask(string q)
        {
            return OperationContext.Current.GetCallbackChannel<ISessionCallback>().Question(q);
        }

        public void Dispose()
        {
            if (timer != null) timer.Dispose();
            SessionProgram.Emit(new JsonObject().Set("event", "session-close").Set("id", id));
        }
    }

    // The client's side of the callback contract: records what arrives, answers questions.
    public class SessionCallback : ISessionCallback
    {
        public readonly List<string> Seen = new List<string>();
        readonly object gate = new object();

        public void Progress(int value) { lock (gate) Seen.Add("progress:" + value); }

        public void Later(string session) { lock (gate) Seen.Add("later:" + session); }

        public string Question(string q) { lock (gate) Seen.Add("question:" + q); return "answer to " + q; }

        public string[] Snapshot() { lock (gate) return Seen.ToArray(); }
    }

    public static class SessionProgram
    {
        static readonly object OutGate = new object();

        public static void Emit(JsonObject o)
        {
            lock (OutGate)
            {
                Console.Out.WriteLine(o.ToString());
                Console.Out.Flush();
            }
        }

        static NetTcpBinding Binding(TimeSpan timeout)
        {
            var b = new NetTcpBinding(SecurityMode.None);
            b.OpenTimeout = b.CloseTimeout = b.SendTimeout = timeout;
            b.ReceiveTimeout = TimeSpan.FromMinutes(10);
            return b;
        }

        public static int Main(string[] argv)
        {
            Console.OutputEncoding = new System.Text.UTF8Encoding(false);
            // Mono's net.tcp service blocks a pool thread per open connection and adds threads
            // slowly (about one per 500 ms past the minimum): with a session per client, a loaded
            // machine then waits seconds for a new session's preamble to be read. Start with enough.
            System.Threading.ThreadPool.SetMinThreads(64, 64);
            if (argv.Length == 0) { Console.Error.WriteLine("usage: WcfSession.exe serve|client …"); return 2; }
            var opts = Args.Parse(argv.Skip(1).ToArray());
            return argv[0] == "serve" ? Serve(opts) : Client(opts);
        }

        static int Serve(Dictionary<string, string> opts)
        {
            string tcp = Args.Get(opts, "tcp", null);
            string counter = Args.Get(opts, "counter", null);
            var hosts = new List<ServiceHost>();
            try
            {
                if (tcp != null)
                {
                    var host = new ServiceHost(typeof(SessionService));
                    host.AddServiceEndpoint(typeof(ISession), Binding(TimeSpan.FromMinutes(1)), tcp);
                    host.Description.Behaviors.Add(new MatchAnyAddressBehavior());
                    host.Open();
                    hosts.Add(host);
                }
                if (counter != null)
                {
                    var host = new ServiceHost(typeof(CounterService));
                    host.AddServiceEndpoint(typeof(ICounter), Binding(TimeSpan.FromMinutes(1)), counter);
                    host.Description.Behaviors.Add(new MatchAnyAddressBehavior());
                    host.Open();
                    hosts.Add(host);
                }
            }
            catch (Exception e)
            {
                Console.Out.WriteLine("FAILED " + e.GetType().Name + ": " + e.Message.Replace('\n', ' '));
                return 1;
            }
            Emit(new JsonObject().Set("event", "ready").Set("tcp", tcp).Set("counter", counter));
            try
            {
                var stdin = Console.OpenStandardInput();
                var buf = new byte[256];
                while (stdin.Read(buf, 0, buf.Length) > 0) { }
            }
            catch (Exception) { }
            foreach (var host in hosts) { try { host.Abort(); } catch (Exception) { } }
            return 0;
        }

        static int Client(Dictionary<string, string> opts)
        {
            var address = new EndpointAddress(Args.Get(opts, "address", null));
            var timeout = TimeSpan.FromSeconds(Args.GetDouble(opts, "timeout", 20));
            var scenarios = Args.Get(opts, "scenario", "interleaved,close-reopen,terminating,progress,later,ask,concurrent").Split(',');
            foreach (var name in scenarios)
            {
                var result = new JsonObject().Set("scenario", name);
                try
                {
                    Run(name, address, timeout, result);
                    result.Set("ok", true);
                }
                catch (Exception e)
                {
                    result.Set("ok", false).Set("error", e.GetType().Name + ": " + e.Message);
                }
                Emit(result);
            }
            return 0;
        }

        static ISession Open(EndpointAddress address, TimeSpan timeout, SessionCallback callback)
        {
            var factory = new DuplexChannelFactory<ISession>(new InstanceContext(callback), Binding(timeout), address);
            var channel = factory.CreateChannel();
            ((IClientChannel)channel).Open();
            return channel;
        }

        static ICounter OpenCounter(EndpointAddress address, TimeSpan timeout)
        {
            var channel = new ChannelFactory<ICounter>(Binding(timeout), address).CreateChannel();
            ((IClientChannel)channel).Open();
            return channel;
        }

        static void Close(object channel)
        {
            var c = (IClientChannel)channel;
            try { c.Close(); } catch (Exception) { c.Abort(); }
        }

        static void Run(string name, EndpointAddress address, TimeSpan timeout, JsonObject result)
        {
            switch (name)
            {
                case "interleaved":
                {
                    var a = Open(address, timeout, new SessionCallback());
                    var b = Open(address, timeout, new SessionCallback());
                    var ca = new List<object>();
                    var cb = new List<object>();
                    for (int i = 0; i < 3; i++) { ca.Add(a.Increment()); cb.Add(b.Increment()); }
                    string ida = a.SessionId(), idb = b.SessionId();
                    result.Set("a", ca).Set("b", cb).Set("distinct", ida != idb).Set("stable", a.SessionId() == ida);
                    Close(a);
                    Close(b);
                    break;
                }
                case "close-reopen":
                {
                    var a = Open(address, timeout, new SessionCallback());
                    a.Increment();
                    a.Increment();
                    Close(a);
                    var c = Open(address, timeout, new SessionCallback());
                    result.Set("afterReopen", c.Increment());
                    Close(c);
                    break;
                }
                case "terminating":
                {
                    var a = Open(address, timeout, new SessionCallback());
                    a.Increment();
                    a.Terminate();
                    string after;
                    try { a.Increment(); after = "no error"; } catch (Exception e) { after = e.GetType().Name; }
                    result.Set("afterTerminate", after);
                    ((IClientChannel)a).Abort();
                    var c = Open(address, timeout, new SessionCallback());
                    result.Set("newSession", c.Increment());
                    Close(c);
                    break;
                }
                case "progress":
                {
                    var cb = new SessionCallback();
                    var a = Open(address, timeout, cb);
                    result.Set("sum", a.AddWithProgress(2, 3));
                    Wait(() => cb.Snapshot().Length >= 1, 5000);
                    result.Set("callbacks", cb.Snapshot().ToList<object>());
                    Close(a);
                    break;
                }
                case "later":
                {
                    var cb = new SessionCallback();
                    var a = Open(address, timeout, cb);
                    string id = a.SessionId();
                    a.NotifyLater(200);
                    Wait(() => cb.Snapshot().Length >= 1, 5000);
                    result.Set("own", cb.Snapshot().SequenceEqual(new[] { "later:" + id }));
                    result.Set("callbacks", cb.Snapshot().Length);
                    Close(a);
                    break;
                }
                case "ask":
                {
                    var cb = new SessionCallback();
                    var a = Open(address, timeout, cb);
                    result.Set("answer", a.Ask("life"));
                    Close(a);
                    break;
                }
                case "concurrent":
                {
                    var outcomes = new List<object>();
                    var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
                    {
                        var cb = new SessionCallback();
                        var ch = Open(address, timeout, cb);
                        var mine = new List<int> { ch.Increment(), ch.Increment(), ch.Increment() };
                        var id = ch.SessionId();
                        ch.NotifyLater(100);
                        Wait(() => cb.Snapshot().Length >= 1, 5000);
                        bool own = cb.Snapshot().SequenceEqual(new[] { "later:" + id });
                        Close(ch);
                        lock (outcomes) outcomes.Add(string.Join(",", mine) + (own ? " own" : " foreign"));
                    })).ToList();
                    threads.ForEach(t => t.Start());
                    threads.ForEach(t => t.Join());
                    outcomes.Sort((x, y) => string.CompareOrdinal((string)x, (string)y));
                    result.Set("sessions", outcomes);
                    break;
                }
                case "counter-interleaved":
                {
                    var a = OpenCounter(address, timeout);
                    var b = OpenCounter(address, timeout);
                    var ca = new List<object>();
                    var cb = new List<object>();
                    for (int i = 0; i < 3; i++) { ca.Add(a.Increment()); cb.Add(b.Increment()); }
                    string ida = a.SessionId(), idb = b.SessionId();
                    result.Set("a", ca).Set("b", cb).Set("distinct", ida != idb).Set("stable", a.SessionId() == ida);
                    Close(a);
                    Close(b);
                    break;
                }
                case "counter-close-reopen":
                {
                    var a = OpenCounter(address, timeout);
                    a.Increment();
                    a.Increment();
                    Close(a);
                    var c = OpenCounter(address, timeout);
                    result.Set("afterReopen", c.Increment());
                    Close(c);
                    break;
                }
                case "counter-terminating":
                {
                    var a = OpenCounter(address, timeout);
                    a.Increment();
                    a.Terminate();
                    string after;
                    try { a.Increment(); after = "no error"; } catch (Exception e) { after = e.GetType().Name; }
                    result.Set("afterTerminate", after);
                    ((IClientChannel)a).Abort();
                    var c = OpenCounter(address, timeout);
                    result.Set("newSession", c.Increment());
                    Close(c);
                    break;
                }
                case "counter-concurrent":
                {
                    var outcomes = new List<object>();
                    var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
                    {
                        var ch = OpenCounter(address, timeout);
                        var mine = new List<int> { ch.Increment(), ch.Increment(), ch.Increment() };
                        Close(ch);
                        lock (outcomes) outcomes.Add(string.Join(",", mine));
                    })).ToList();
                    threads.ForEach(t => t.Start());
                    threads.ForEach(t => t.Join());
                    result.Set("sessions", outcomes);
                    break;
                }
                default:
                    throw new ArgumentException("unknown scenario " + name);
            }
        }

        static void Wait(Func<bool> cond, int ms)
        {
            var until = DateTime.UtcNow.AddMilliseconds(ms);
            while (!cond() && DateTime.UtcNow < until) Thread.Sleep(20);
        }
    }
}
