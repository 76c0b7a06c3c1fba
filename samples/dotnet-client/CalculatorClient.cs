// A .NET client for the calculator sample, calling it through the relay with Microsoft's WCF
// client libraries (System.ServiceModel.* 10.1.0): an unmodified ChannelFactory<ICalculator>
// over BasicHttpBinding (SOAP 1.1) or NetTcpBinding (binary, net.tcp).
//
//   dotnet run --project samples/dotnet-client -- [--address URL] [--binding basic|nettcp] [--token TOKEN] [--config FILE]
//
// The relay address, binding and SAS token come from client.json (next to the program, or
// --config), the command line overriding it. The token goes on every message from an endpoint
// behavior, as Azure's *RelayBinding clients carry it: the ServiceBusAuthorization HTTP header on
// basicHttp, a RelayAccessToken SOAP header on net.tcp. No call site deals with it.
using System;
using System.IO;
using System.Runtime.Serialization;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;
using System.Text.Json;

namespace RelayBridge.Samples
{
    [DataContract(Namespace = "http://example.org/calc/data")]
    public class CalcFault
    {
        [DataMember(Order = 0)] public string Operation;
        [DataMember(Order = 1)] public string Problem;
    }

    [ServiceContract(Namespace = "http://example.org/calc")]
    public interface ICalculator
    {
        [OperationContract] int Add(int a, int b);
        [OperationContract, FaultContract(typeof(CalcFault))] int Divide(int a, int b);
        [OperationContract(IsOneWay = true)] void Notify(string msg);
        [OperationContract] bool WasNotified(string msg);
    }

    public class ClientSettings
    {
        public string relayAddress { get; set; }
        public string binding { get; set; }
        public string token { get; set; }
    }

    public static class Program
    {
        public static int Main(string[] args)
        {
            string configFile = Path.Combine(AppContext.BaseDirectory, "client.json");
            for (int i = 0; i + 1 < args.Length; i++) if (args[i] == "--config") configFile = args[i + 1];
            var settings = File.Exists(configFile) ? JsonSerializer.Deserialize<ClientSettings>(File.ReadAllText(configFile)) : new ClientSettings();
            for (int i = 0; i + 1 < args.Length; i += 2)
            {
                switch (args[i])
                {
                    case "--address": settings.relayAddress = args[i + 1]; break;
                    case "--binding": settings.binding = args[i + 1]; break;
                    case "--token": settings.token = args[i + 1]; break;
                    case "--config": break;
                    default:
                        Console.Error.WriteLine("usage: dotnet run --project samples/dotnet-client -- [--address URL] [--binding basic|nettcp] [--token TOKEN] [--config FILE]");
                        return 2;
                }
            }
            string bindingName = string.IsNullOrEmpty(settings.binding) ? "basic" : settings.binding;
            if (string.IsNullOrEmpty(settings.relayAddress) || (bindingName != "basic" && bindingName != "nettcp"))
            {
                Console.Error.WriteLine("a relay address (--address or relayAddress in client.json) and a binding (basic or nettcp) are needed");
                return 2;
            }
            Binding binding = bindingName == "nettcp" ? (Binding)new NetTcpBinding(SecurityMode.None) : new BasicHttpBinding(BasicHttpSecurityMode.None);
            var factory = new ChannelFactory<ICalculator>(binding, new EndpointAddress(settings.relayAddress));
            if (!string.IsNullOrEmpty(settings.token)) factory.Endpoint.EndpointBehaviors.Add(new RelayTokenBehavior(settings.token));
            var calc = factory.CreateChannel();
            try
            {
                Console.WriteLine("calling " + settings.relayAddress + " over " + (bindingName == "nettcp" ? "NetTcpBinding" : "BasicHttpBinding (SOAP 1.1)"));
                Console.WriteLine("Add(2, 3) = " + calc.Add(2, 3));
                Console.WriteLine("Divide(7, 2) = " + calc.Divide(7, 2));
                try
                {
                    calc.Divide(1, 0);
                    Console.WriteLine("Divide(1, 0): no fault?");
                    return 1;
                }
                catch (FaultException<CalcFault> e)
                {
                    Console.WriteLine("Divide(1, 0) → FaultException<CalcFault>: " + e.Reason + " (operation " + e.Detail.Operation + ", " + e.Detail.Problem + ")");
                }
                string msg = "hello from .NET " + Guid.NewGuid().ToString("N").Substring(0, 6);
                calc.Notify(msg);
                bool seen = false;
                for (int i = 0; i < 50 && !seen; i++)
                {
                    seen = calc.WasNotified(msg);
                    if (!seen) System.Threading.Thread.Sleep(50);
                }
                Console.WriteLine("Notify(\"" + msg + "\") one-way, seen by the service: " + seen);
                ((IClientChannel)calc).Close();
                factory.Close();
                return seen ? 0 : 1;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("call failed: " + e.GetType().Name + ": " + e.Message);
                ((IClientChannel)calc).Abort();
                return 1;
            }
        }
    }

    /// <summary>The relay token on every message, as a *RelayBinding client carries it.</summary>
    public class RelayTokenBehavior : IEndpointBehavior, IClientMessageInspector
    {
        const string ConnectNs = "http://schemas.microsoft.com/netservices/2009/05/servicebus/connect";
        readonly string token;
        public RelayTokenBehavior(string token) { this.token = token; }

        public void AddBindingParameters(ServiceEndpoint endpoint, BindingParameterCollection parameters) { }
        public void ApplyDispatchBehavior(ServiceEndpoint endpoint, EndpointDispatcher dispatcher) { }
        public void Validate(ServiceEndpoint endpoint) { }
        public void ApplyClientBehavior(ServiceEndpoint endpoint, ClientRuntime runtime) { runtime.ClientMessageInspectors.Add(this); }

        public object BeforeSendRequest(ref Message request, IClientChannel channel)
        {
            if (channel.RemoteAddress.Uri.Scheme == "net.tcp")
            {
                // net.tcp: a RelayAccessToken SOAP header (the relay reads it and takes it out).
                request.Headers.Add(MessageHeader.CreateHeader("RelayAccessToken", ConnectNs, token));
                return null;
            }
            object existing;
            HttpRequestMessageProperty http;
            if (request.Properties.TryGetValue(HttpRequestMessageProperty.Name, out existing)) http = (HttpRequestMessageProperty)existing;
            else request.Properties[HttpRequestMessageProperty.Name] = http = new HttpRequestMessageProperty();
            http.Headers["ServiceBusAuthorization"] = token;
            return null;
        }

        public void AfterReceiveReply(ref Message reply, object correlationState) { }
    }
}
