// Microsoft's WCF client (System.ServiceModel.NetTcp 10.1.0) against the session contract of
// test/interop/wcf/Session.cs: a duplex ISession (CallbackContract) and a sessionful ICounter.
//
//   dotnet SessionClient.dll --address net.tcp://…/session [--counter net.tcp://…/counter]
//                            [--scenario a,b,…] [--timeout SECONDS]
//
// Prints one JSON line per scenario (the same shapes as WcfSession.exe client).
using System;
using System.Collections.Generic;
using System.Linq;
using System.ServiceModel;
using System.Text.Json;
using System.Threading;

namespace RelayBridge.Interop
{
    public static class Names { public const string Ns = "urn:relaybridge:sessions"; }

    [ServiceContract(Namespace = Names.Ns, SessionMode = SessionMode.Required, CallbackContract = typeof(ISessionCallback))]
    public interface ISession
    {
        [OperationContract] int Increment();
        [OperationContract] string SessionId();
        [OperationContract(IsTerminating = true)] void Terminate();
        [OperationContract] int AddWithProgress(int a, int b);
        [OperationContract] void NotifyLater(int ms);
        [OperationContract] string Ask(string q);
    }

    public interface ISessionCallback
    {
        [OperationContract(IsOneWay = true)] void Progress(int value);
        [OperationContract(IsOneWay = true)] void Later(string session);
        [OperationContract] string Question(string q);
    }

    [CallbackBehavior(ConcurrencyMode = ConcurrencyMode.Multiple, UseSynchronizationContext = false)]
    public class Callback : ISessionCallback
    {
        readonly List<string> seen = new List<string>();
        public void Progress(int value) { lock (seen) seen.Add("progress:" + value); }
        public void Later(string session) { lock (seen) seen.Add("later:" + session); }
        public string Question(string q) { lock (seen) seen.Add("question:" + q); return "answer to " + q; }
        public string[] Snapshot() { lock (seen) return seen.ToArray(); }
    }

    public static class Program
    {
        static NetTcpBinding Binding(TimeSpan timeout)
        {
            var b = new NetTcpBinding(SecurityMode.None);
            b.OpenTimeout = b.CloseTimeout = b.SendTimeout = timeout;
            b.ReceiveTimeout = TimeSpan.FromMinutes(10);
            return b;
        }

        public static int Main(string[] argv)
        {
            var opts = new Dictionary<string, string>();
            for (int i = 0; i + 1 < argv.Length; i += 2) opts[argv[i].TrimStart('-')] = argv[i + 1];
            var address = new EndpointAddress(opts["address"]);
            var timeout = TimeSpan.FromSeconds(double.Parse(opts.GetValueOrDefault("timeout", "20"), System.Globalization.CultureInfo.InvariantCulture));
            foreach (var name in opts.GetValueOrDefault("scenario", "interleaved,close-reopen,terminating,progress,later,ask,concurrent").Split(','))
            {
                var result = new Dictionary<string, object> { ["scenario"] = name };
                try
                {
                    Run(name, address, timeout, result);
                    result["ok"] = true;
                }
                catch (Exception e)
                {
                    result["ok"] = false;
                    result["error"] = e.GetType().Name + ": " + e.Message;
                }
                Console.Out.WriteLine(JsonSerializer.Serialize(result));
                Console.Out.Flush();
            }
            return 0;
        }

        static ISession Open(EndpointAddress address, TimeSpan timeout, Callback callback)
        {
            var factory = new DuplexChannelFactory<ISession>(new InstanceContext(callback), Binding(timeout), address);
            var channel = factory.CreateChannel();
            ((IClientChannel)channel).Open();
            return channel;
        }

        static void Close(object channel)
        {
            var c = (IClientChannel)channel;
            try { c.Close(); } catch (Exception) { c.Abort(); }
        }

        static void Wait(Func<bool> cond, int ms)
        {
            var until = DateTime.UtcNow.AddMilliseconds(ms);
            while (!cond() && DateTime.UtcNow < until) Thread.Sleep(20);
        }

        static void Run(string name, EndpointAddress address, TimeSpan timeout, Dictionary<string, object> result)
        {
            switch (name)
            {
                case "interleaved":
                {
                    var a = Open(address, timeout, new Callback());
                    var b = Open(address, timeout, new Callback());
                    var ca = new List<int>();
                    var cb = new List<int>();
                    for (int i = 0; i < 3; i++) { ca.Add(a.Increment()); cb.Add(b.Increment()); }
                    string ida = a.SessionId(), idb = b.SessionId();
                    result["a"] = ca; result["b"] = cb; result["distinct"] = ida != idb; result["stable"] = a.SessionId() == ida;
                    Close(a); Close(b);
                    break;
                }
                case "close-reopen":
                {
                    var a = Open(address, timeout, new Callback());
                    a.Increment(); a.Increment();
                    Close(a);
                    var c = Open(address, timeout, new Callback());
                    result["afterReopen"] = c.Increment();
                    Close(c);
                    break;
                }
                case "terminating":
                {
                    var a = Open(address, timeout, new Callback());
                    a.Increment();
                    a.Terminate();
                    string after;
                    try { a.Increment(); after = "no error"; } catch (Exception e) { after = e.GetType().Name; }
                    result["afterTerminate"] = after;
                    ((IClientChannel)a).Abort();
                    var c = Open(address, timeout, new Callback());
                    result["newSession"] = c.Increment();
                    Close(c);
                    break;
                }
                case "progress":
                {
                    var cb = new Callback();
                    var a = Open(address, timeout, cb);
                    result["sum"] = a.AddWithProgress(2, 3);
                    Wait(() => cb.Snapshot().Length >= 1, 5000);
                    result["callbacks"] = cb.Snapshot();
                    Close(a);
                    break;
                }
                case "later":
                {
                    var cb = new Callback();
                    var a = Open(address, timeout, cb);
                    string id = a.SessionId();
                    a.NotifyLater(200);
                    Wait(() => cb.Snapshot().Length >= 1, 5000);
                    result["own"] = cb.Snapshot().SequenceEqual(new[] { "later:" + id });
                    result["callbacks"] = cb.Snapshot().Length;
                    Close(a);
                    break;
                }
                case "ask":
                {
                    var a = Open(address, timeout, new Callback());
                    result["answer"] = a.Ask("life");
                    Close(a);
                    break;
                }
                case "concurrent":
                {
                    var outcomes = new List<string>();
                    var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
                    {
                        var cb = new Callback();
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
                    outcomes.Sort(string.CompareOrdinal);
                    result["sessions"] = outcomes;
                    break;
                }
                case "hold":
                {
                    // A session held open while the test takes something away (relay, agent or
                    // service): the next call must fail, and within a bounded time.
                    var a = Open(address, timeout, new Callback());
                    result["first"] = a.Increment();
                    Console.Out.WriteLine("{\"event\":\"open\"}");
                    Console.Out.Flush();
                    Console.In.ReadLine();
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    try { result["second"] = a.Increment(); result["failed"] = false; }
                    catch (Exception e) { result["failed"] = true; result["error"] = e.GetType().Name; }
                    result["ms"] = (int)sw.ElapsedMilliseconds;
                    ((IClientChannel)a).Abort();
                    break;
                }
                default:
                    throw new ArgumentException("unknown scenario " + name);
            }
        }
    }
}
