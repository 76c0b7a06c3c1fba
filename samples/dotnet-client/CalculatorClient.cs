// A .NET (WCF) client for the calculator sample, calling it through the relay: an unmodified
// ChannelFactory<ICalculator> over BasicHttpBinding (SOAP 1.1) or WSHttpBinding with security
// None (SOAP 1.2 + WS-Addressing; the agent translates it for the SOAP 1.1 service).
// The endpoint comes from CalculatorClient.exe.config, or from the command line:
//   mono CalculatorClient.exe [RELAY_SERVICE_URL] [TOKEN] [--binding basic|ws]
// TOKEN is a SAS token for the path, sent in the ServiceBusAuthorization HTTP header (as
// Microsoft.ServiceBus's BasicHttpRelayBinding does).
using System;
using System.Configuration;
using System.Runtime.Serialization;
using System.ServiceModel;
using System.ServiceModel.Channels;

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

    public static class Program
    {
        static string token;
        static bool soap11;

        public static int Main(string[] args)
        {
            string address = null;
            string bindingName = ConfigurationManager.AppSettings["binding"] ?? "basic";
            token = ConfigurationManager.AppSettings["relayToken"];
            int positional = 0;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--binding" && i + 1 < args.Length) bindingName = args[++i];
                else if (positional++ == 0) address = args[i];
                else token = args[i];
            }
            address = address ?? ConfigurationManager.AppSettings["relayAddress"];
            if (string.IsNullOrEmpty(address))
            {
                Console.Error.WriteLine("usage: mono CalculatorClient.exe RELAY_SERVICE_URL [TOKEN] [--binding basic|ws]");
                return 2;
            }
            soap11 = bindingName != "ws";
            Binding binding;
            if (soap11) binding = new BasicHttpBinding(BasicHttpSecurityMode.None);
            else binding = new WSHttpBinding(SecurityMode.None) { };
            var factory = new ChannelFactory<ICalculator>(binding, new EndpointAddress(address));
            var calc = factory.CreateChannel();
            try
            {
                Console.WriteLine("calling " + address + " over " + (soap11 ? "BasicHttpBinding (SOAP 1.1)" : "WSHttpBinding (SOAP 1.2 + WS-Addressing)"));
                Console.WriteLine("Add(2, 3) = " + Call(calc, "Add", () => calc.Add(2, 3)));
                Console.WriteLine("Divide(7, 2) = " + Call(calc, "Divide", () => calc.Divide(7, 2)));
                try
                {
                    Call(calc, "Divide", () => calc.Divide(1, 0));
                    Console.WriteLine("Divide(1, 0): no fault?");
                    return 1;
                }
                catch (FaultException<CalcFault> e)
                {
                    Console.WriteLine("Divide(1, 0) → FaultException<CalcFault>: " + e.Reason + " (operation " + e.Detail.Operation + ", " + e.Detail.Problem + ")");
                }
                string msg = "hello from .NET " + Guid.NewGuid().ToString("N").Substring(0, 6);
                Call(calc, "Notify", () => { calc.Notify(msg); return 0; });
                bool seen = false;
                for (int i = 0; i < 50 && !seen; i++)
                {
                    seen = Call(calc, "WasNotified", () => calc.WasNotified(msg));
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

        // Adds the relay token as the ServiceBusAuthorization HTTP header. Mono 6.8 quirk: an
        // HttpRequestMessageProperty replaces all request headers, so Content-Type and SOAPAction
        // are set again here.
        static T Call<T>(ICalculator ch, string op, Func<T> call)
        {
            if (string.IsNullOrEmpty(token)) return call();
            using (new OperationContextScope((IContextChannel)ch))
            {
                var prop = new HttpRequestMessageProperty();
                prop.Headers["ServiceBusAuthorization"] = token;
                if (soap11)
                {
                    prop.Headers["Content-Type"] = "text/xml; charset=utf-8";
                    prop.Headers["SOAPAction"] = "\"http://example.org/calc/ICalculator/" + op + "\"";
                }
                else prop.Headers["Content-Type"] = "application/soap+xml; charset=utf-8";
                OperationContext.Current.OutgoingMessageProperties[HttpRequestMessageProperty.Name] = prop;
                return call();
            }
        }
    }
}
