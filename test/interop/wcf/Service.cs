// WcfService.exe: hosts CalculatorService on the endpoints given on the command line.
//
//   mono WcfService.exe [--basic http://127.0.0.1:P/calc] [--ws http://127.0.0.1:P/calcws]
//                       [--tcp net.tcp://127.0.0.1:P/calc] [--exception-detail true|false]
//                       [--fault-passthrough] [--quiet]
//
// Prints `READY {json}` on stdout once every host is open, then one JSON line per event
// ({"event":"call",...} per operation unless --quiet, {"event":"notify","msg":...} per Notify).
// Exits when stdin reaches end of file. Errors at startup: `FAILED <message>` and exit code 1.
using System;
using System.Collections.Generic;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;
using System.Collections.ObjectModel;
using System.Threading;

namespace RelayBridge.Interop
{
    // AddressFilterMode.Any: a service reached through a relay sees the relay's address in `To`.
    [ServiceBehavior(InstanceContextMode = InstanceContextMode.PerCall,
        ConcurrencyMode = ConcurrencyMode.Multiple,
        AddressFilterMode = AddressFilterMode.Any)]
    public class CalculatorService : ICalculator
    {
        static readonly object Gate = new object();
        static string lastNotification;
        static readonly LinkedList<string> recent = new LinkedList<string>();
        public static bool Quiet;

        public int Add(int a, int b) { Log("Add"); return unchecked(a + b); }

        public string Echo(string text) { Log("Echo"); return "echo:" + text; }

        public Record Process(Record input)
        {
            Log("Process");
            return CalcOps.Process(input);
        }

        public int Divide(int a, int b)
        {
            Log("Divide");
            return CalcOps.Divide(a, b);
        }

        public void Fail(string msg) { Log("Fail"); throw new FaultException("Fail: " + msg); }

        public void Crash(string msg) { Log("Crash"); throw new InvalidOperationException("Crash: " + msg); }

        public void Notify(string msg)
        {
            Log("Notify");
            lock (Gate)
            {
                lastNotification = msg;
                recent.AddLast(msg);
                if (recent.Count > 1000) recent.RemoveFirst();
            }
            Program.Emit(new JsonObject().Set("event", "notify").Set("msg", msg));
        }

        public string GetLastNotification()
        {
            Log("GetLastNotification");
            lock (Gate) return lastNotification;
        }

        public bool WasNotified(string msg)
        {
            Log("WasNotified");
            lock (Gate) return recent.Contains(msg);
        }

        public int Delay(int ms)
        {
            Log("Delay");
            if (ms > 0) Thread.Sleep(ms);
            return ms;
        }

        static void Log(string op)
        {
            if (Quiet) return;
            var ev = new JsonObject().Set("event", "call").Set("op", op);
            try
            {
                var ctx = OperationContext.Current;
                if (ctx != null)
                {
                    var headers = ctx.IncomingMessageHeaders;
                    ev.Set("action", headers.Action);
                    ev.Set("to", headers.To == null ? null : headers.To.AbsoluteUri);
                    ev.Set("endpoint", ctx.EndpointDispatcher == null ? null : ctx.EndpointDispatcher.EndpointAddress.Uri.AbsoluteUri);
                    object prop;
                    if (ctx.IncomingMessageProperties.TryGetValue(HttpRequestMessageProperty.Name, out prop))
                    {
                        var http = (HttpRequestMessageProperty)prop;
                        var h = new JsonObject();
                        foreach (string name in http.Headers.AllKeys) h.Set(name, http.Headers[name]);
                        ev.Set("httpHeaders", h);
                    }
                }
            }
            catch (Exception e)
            {
                ev.Set("logError", e.Message);
            }
            Program.Emit(ev);
        }
    }

    // Mono 6.8 ignores ServiceBehavior.AddressFilterMode: a message whose `To` differs from the
    // endpoint address is dropped (net.tcp: the client times out). Install MatchAll filters instead.
    public class MatchAnyAddressBehavior : IServiceBehavior
    {
        public void AddBindingParameters(ServiceDescription d, ServiceHostBase h, Collection<ServiceEndpoint> e, BindingParameterCollection p) { }

        public void ApplyDispatchBehavior(ServiceDescription d, ServiceHostBase host)
        {
            foreach (ChannelDispatcherBase cdb in host.ChannelDispatchers)
            {
                var cd = cdb as ChannelDispatcher;
                if (cd == null) continue;
                foreach (EndpointDispatcher ed in cd.Endpoints) ed.AddressFilter = new MatchAllMessageFilter();
            }
        }

        public void Validate(ServiceDescription d, ServiceHostBase h) { }
    }

    // --fault-passthrough: Mono 6.8 turns every exception that is not a declared FaultException<T>
    // (including a plain FaultException) into an InternalServiceFault. This handler sends a plain
    // FaultException as .NET does: its own code (Sender -> s:Client in SOAP 1.1) and reason.
    public class FaultPassthroughBehavior : IServiceBehavior, IErrorHandler
    {
        public void AddBindingParameters(ServiceDescription d, ServiceHostBase h, Collection<ServiceEndpoint> e, BindingParameterCollection p) { }

        public void ApplyDispatchBehavior(ServiceDescription d, ServiceHostBase host)
        {
            foreach (ChannelDispatcherBase cdb in host.ChannelDispatchers)
            {
                var cd = cdb as ChannelDispatcher;
                if (cd != null) cd.ErrorHandlers.Add(this);
            }
        }

        public void Validate(ServiceDescription d, ServiceHostBase h) { }

        public bool HandleError(Exception error) { return false; }

        public void ProvideFault(Exception error, MessageVersion version, ref Message fault)
        {
            var fe = error as FaultException;
            if (fe == null || fe.GetType() != typeof(FaultException)) return;
            string action = fe.Action;
            if (string.IsNullOrEmpty(action) && version.Addressing == AddressingVersion.WSAddressing10)
                action = "http://www.w3.org/2005/08/addressing/soap/fault";
            // Mono's FaultException(string) has a code with an empty name, which cannot be written:
            // use the SOAP sender code ("Client" in SOAP 1.1) as .NET does.
            FaultCode code = fe.Code;
            if (code == null || string.IsNullOrEmpty(code.Name))
            {
                code = version.Envelope == EnvelopeVersion.Soap11
                    ? new FaultCode("Client", "http://schemas.xmlsoap.org/soap/envelope/")
                    : new FaultCode("Sender", "http://www.w3.org/2003/05/soap-envelope");
            }
            fault = Message.CreateMessage(version, MessageFault.CreateFault(code, fe.Reason), action);
        }
    }

    public static class Program
    {
        static readonly object OutGate = new object();

        public static void Emit(JsonObject o)
        {
            string line = o.ToString();
            lock (OutGate)
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            }
        }

        public static int Main(string[] argv)
        {
            Console.OutputEncoding = new System.Text.UTF8Encoding(false);
            // Mono's net.tcp service blocks a pool thread per open connection and adds threads
            // slowly (about one per 500 ms past the minimum): with a session per client, a loaded
            // machine then waits seconds for a new session's preamble to be read. Start with enough.
            System.Threading.ThreadPool.SetMinThreads(64, 64);
            Dictionary<string, string> args;
            try
            {
                args = Args.Parse(argv);
            }
            catch (Exception e)
            {
                Console.Out.WriteLine("FAILED " + e.Message);
                return 2;
            }
            string basic = Args.Get(args, "basic", null);
            string ws = Args.Get(args, "ws", null);
            string tcp = Args.Get(args, "tcp", null);
            bool detail = Args.GetBool(args, "exception-detail", true);
            bool passthrough = Args.GetBool(args, "fault-passthrough", false);
            bool metadata = Args.GetBool(args, "metadata", true);
            CalculatorService.Quiet = Args.GetBool(args, "quiet", false);
            if (basic == null && ws == null && tcp == null)
            {
                Console.Out.WriteLine("FAILED give at least one of --basic, --ws, --tcp");
                return 2;
            }

            ServiceHost host;
            try
            {
                // The HTTP base address (the basic endpoint, else the ws one) carries ?wsdl.
                string httpBase = basic ?? ws;
                var bases = new List<Uri>();
                if (httpBase != null) bases.Add(new Uri(httpBase));
                host = new ServiceHost(typeof(CalculatorService), bases.ToArray());
                var timeout = TimeSpan.FromMinutes(10);
                if (basic != null) host.AddServiceEndpoint(typeof(ICalculator), Bindings.Create("basic", timeout), basic);
                if (ws != null) host.AddServiceEndpoint(typeof(ICalculator), Bindings.Create("ws", timeout), ws);
                if (tcp != null) host.AddServiceEndpoint(typeof(ICalculator), Bindings.Create("tcp", timeout), tcp);

                var debug = host.Description.Behaviors.Find<ServiceDebugBehavior>();
                if (debug == null) { debug = new ServiceDebugBehavior(); host.Description.Behaviors.Add(debug); }
                debug.IncludeExceptionDetailInFaults = detail;
                debug.HttpHelpPageEnabled = false;

                if (httpBase != null && metadata)
                {
                    var meta = new ServiceMetadataBehavior();
                    meta.HttpGetEnabled = true;
                    host.Description.Behaviors.Add(meta);
                }
                host.Description.Behaviors.Add(new MatchAnyAddressBehavior());
                if (passthrough) host.Description.Behaviors.Add(new FaultPassthroughBehavior());
                host.Open();
            }
            catch (Exception e)
            {
                Console.Out.WriteLine("FAILED " + e.GetType().Name + ": " + e.Message.Replace('\n', ' '));
                return 1;
            }

            var ready = new JsonObject()
                .Set("basic", basic).Set("ws", ws).Set("tcp", tcp)
                .Set("wsdl", (basic ?? ws) == null || !metadata ? null : (basic ?? ws) + "?wsdl")
                .Set("exceptionDetail", detail).Set("faultPassthrough", passthrough);
            lock (OutGate)
            {
                Console.Out.WriteLine("READY " + ready);
                Console.Out.Flush();
            }

            // Run until stdin closes (the test process ends or calls stop()).
            try
            {
                var stdin = Console.OpenStandardInput();
                var buf = new byte[256];
                while (stdin.Read(buf, 0, buf.Length) > 0) { }
            }
            catch (Exception) { }

            try { host.Abort(); } catch (Exception) { }
            return 0;
        }
    }
}
