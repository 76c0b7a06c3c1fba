// An ASP.NET Core (Kestrel) service with SoapCore serving the calculator contract:
//
//   dotnet SoapCoreService.dll --port N
//
// /Calculator.svc     basicHttp: SOAP 1.1, text/xml (as BasicHttpBinding)
// /Calculator12.svc   SOAP 1.2 + WS-Addressing 1.0 (as WSHttpBinding with security None)
// ?wsdl on either. Prints `READY {"basic":…,"soap12":…}` once listening; exits when stdin ends.
using System;
using System.Collections.Generic;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.Threading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SoapCore;

namespace RelayBridge.Interop
{
    public class CalculatorService : ICalculator
    {
        static readonly object Gate = new object();
        static string last;
        static readonly LinkedList<string> recent = new LinkedList<string>();

        public int Add(int a, int b) { return unchecked(a + b); }
        public string Echo(string text) { return "echo:" + text; }

        public Record Process(Record input) { return CalcOps.Process(input); }
        public int Divide(int a, int b) { return CalcOps.Divide(a, b); }

        public void Fail(string msg) { throw new FaultException("Fail: " + msg); }
        public void Crash(string msg) { throw new InvalidOperationException("Crash: " + msg); }

        public void Notify(string msg)
        {
            lock (Gate) { last = msg; recent.AddLast(msg); if (recent.Count > 1000) recent.RemoveFirst(); }
        }

        public string GetLastNotification() { lock (Gate) return last; }
        public bool WasNotified(string msg) { lock (Gate) return recent.Contains(msg); }
        public int Delay(int ms) { if (ms > 0) Thread.Sleep(ms); return ms; }
    }

    public static class SoapCoreProgram
    {
        public static int Main(string[] argv)
        {
            int port = 0;
            for (int i = 0; i + 1 < argv.Length; i += 2) if (argv[i] == "--port") port = int.Parse(argv[i + 1]);
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = new string[0] });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:" + port);
            builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
            builder.Services.AddSoapCore();
            builder.Services.AddSingleton<CalculatorService>();
            var app = builder.Build();
            ((IApplicationBuilder)app).UseSoapEndpoint<CalculatorService>(o =>
            {
                o.Path = "/Calculator.svc";
                o.EncoderOptions = new[] { new SoapEncoderOptions { MessageVersion = MessageVersion.Soap11 } };
                o.SoapSerializer = SoapSerializer.DataContractSerializer;
                o.IndentXml = false;
            });
            ((IApplicationBuilder)app).UseSoapEndpoint<CalculatorService>(o =>
            {
                o.Path = "/Calculator12.svc";
                o.EncoderOptions = new[] { new SoapEncoderOptions { MessageVersion = MessageVersion.Soap12WSAddressing10 } };
                o.SoapSerializer = SoapSerializer.DataContractSerializer;
                o.IndentXml = false;
            });
            app.StartAsync().Wait();
            string url = null;
            foreach (var a in app.Urls) url = a;
            Console.Out.WriteLine("READY {\"basic\":\"" + url + "/Calculator.svc\",\"soap12\":\"" + url + "/Calculator12.svc\"}");
            Console.Out.Flush();
            Console.In.ReadToEnd();
            app.StopAsync().Wait(3000);
            return 0;
        }
    }
}
