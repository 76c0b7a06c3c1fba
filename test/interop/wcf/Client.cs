// WcfClient.exe: an unmodified WCF client (ChannelFactory<ICalculator>, code-built binding) that runs
// scenarios and prints ONE JSON line per scenario on stdout. See README.md for the CLI and output.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.Threading;

namespace RelayBridge.Interop
{
    public static class ClientProgram
    {
        static readonly string[] All = { "add", "echo", "process", "divide", "fail", "crash", "notify", "two-channels" };
        const string Unicode = "h\u00e9llo <&> \u4e16\u754c";

        static ChannelFactory<ICalculator> factory;
        static string bindingKind;
        static EndpointAddress address;
        static Uri via;
        static string headerToken;
        static int count;
        static int size;
        static Dictionary<string, string> opts;

        public static int Main(string[] argv)
        {
            Console.OutputEncoding = new System.Text.UTF8Encoding(false);
            try
            {
                opts = Args.Parse(argv);
                bindingKind = Args.Get(opts, "binding", "basic");
                string addr = Args.Get(opts, "address", null);
                if (addr == null) throw new ArgumentException("--address is required");
                address = new EndpointAddress(addr);
                string viaText = Args.Get(opts, "via", null);
                via = viaText == null ? null : new Uri(viaText);
                headerToken = Args.Get(opts, "header-token", null);
                string behaviorToken = Args.Get(opts, "token-behavior", null);
                count = Args.GetInt(opts, "count", 1);
                size = Args.GetInt(opts, "size", -1);
                var timeout = TimeSpan.FromSeconds(Args.GetDouble(opts, "timeout", 30));
                factory = new ChannelFactory<ICalculator>(Bindings.Create(bindingKind, timeout), address);
                // The token on every message without per-call code, as a *RelayBinding client carries it.
                if (behaviorToken != null) factory.Endpoint.EndpointBehaviors.Add(new RelayTokenBehavior(behaviorToken, bindingKind));
                string caFile = Args.Get(opts, "ca", null);
                if (caFile != null) TrustOnly(factory, caFile);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("usage error: " + e.Message);
                Console.Error.WriteLine("usage: WcfClient.exe --binding basic|basic-https|basic-streamed|ws|ws-https|tcp|tcp-tls|tcp-streamed --address URL [--via URL] --scenario NAME[,NAME...]|all");
                Console.Error.WriteLine("         [--count N] [--size N] [--text S] [--timeout SECONDS] [--header-token TOKEN] [--token-behavior TOKEN] [--pause-file PATH]");
                return 2;
            }

            string scenarioArg = Args.Get(opts, "scenario", "all");
            var scenarios = new List<string>();
            foreach (var s in scenarioArg.Split(','))
            {
                if (s == "all") scenarios.AddRange(All);
                else if (s.Length > 0) scenarios.Add(s);
            }

            foreach (var name in scenarios)
            {
                var sw = Stopwatch.StartNew();
                JsonObject result;
                try
                {
                    result = Run(name);
                }
                catch (Exception e)
                {
                    result = Describe(new JsonObject().Set("scenario", name).Set("binding", bindingKind).Set("ok", false), e);
                }
                result.Set("ms", (int)sw.ElapsedMilliseconds);
                Console.Out.WriteLine(result.ToString());
                Console.Out.Flush();
            }
            try { factory.Close(); } catch (Exception) { factory.Abort(); }
            return 0;
        }

        static JsonObject Run(string name)
        {
            var r = new JsonObject().Set("scenario", name).Set("binding", bindingKind);
            switch (name)
            {
                case "add": return Add(r);
                case "echo": return Echo(r);
                case "process": return Process(r);
                case "divide": return Divide(r);
                case "fail": return Fail(r);
                case "crash": return Crash(r);
                case "notify": return Notify(r);
                case "two-channels": return TwoChannels(r);
                case "parallel": return Parallel(r);
                case "delay": return DelayScenario(r);
                case "import-wsdl": return ImportWsdl(r);
                case "restart": return Restart(r);
                default: throw new ArgumentException("unknown scenario: " + name);
            }
        }

        // Imports the service's WSDL the way svcutil does over HTTP GET: fetch the WSDL, follow its
        // wsdl:import and xsd:import/include locations, hand the documents to WsdlImporter, list the
        // imported endpoints, then call Add through the first one whose binding matches --binding.
        // (Mono's MetadataExchangeClient always falls back to WS-Transfer Get, so it is not used.)
        static JsonObject ImportWsdl(JsonObject r)
        {
#if NETCOREAPP
            // Microsoft's client libraries (dotnet/wcf) have no WsdlImporter: svcutil's job there.
            return r.Set("ok", false).Set("error", "NotSupportedException").Set("message", "WsdlImporter is not in dotnet/wcf");
#else
            string wsdlUrl = Args.Get(opts, "wsdl", address.Uri.ToString() + "?wsdl");
            var sections = new List<MetadataSection>();
            var seen = new HashSet<string>();
            var queue = new Queue<string>();
            var skipped = new List<string>();
            queue.Enqueue(wsdlUrl);
            using (var web = new WebClient())
            {
                while (queue.Count > 0)
                {
                    string url = queue.Dequeue();
                    if (!seen.Add(url)) continue;
                    string xml;
                    try { xml = web.DownloadString(url); }
                    catch (WebException) { skipped.Add(url); continue; }
                    var doc = new System.Xml.XmlDocument();
                    doc.LoadXml(xml);
                    if (doc.DocumentElement.LocalName == "definitions")
                    {
                        var sd = System.Web.Services.Description.ServiceDescription.Read(new System.IO.StringReader(xml));
                        sections.Add(MetadataSection.CreateFromServiceDescription(sd));
                        foreach (System.Web.Services.Description.Import imp in sd.Imports)
                            if (!string.IsNullOrEmpty(imp.Location)) queue.Enqueue(new Uri(new Uri(url), imp.Location).ToString());
                        foreach (System.Xml.Schema.XmlSchema schema in sd.Types.Schemas) EnqueueSchemaRefs(schema, url, queue);
                    }
                    else if (doc.DocumentElement.LocalName != "schema")
                    {
                        // Mono's own WSDL carries an empty "?xsd=" reference that answers an HTML page.
                        skipped.Add(url);
                    }
                    else
                    {
                        var schema = System.Xml.Schema.XmlSchema.Read(new System.IO.StringReader(xml), null);
                        sections.Add(MetadataSection.CreateFromSchema(schema));
                        EnqueueSchemaRefs(schema, url, queue);
                    }
                }
            }
            r.Set("documents", seen.Count - skipped.Count).Set("skipped", string.Join(" | ", skipped));
            var importer = new WsdlImporter(new MetadataSet(sections));
            ServiceEndpointCollection endpoints = importer.ImportAllEndpoints();
            var names = new List<string>();
            foreach (ServiceEndpoint ep in endpoints) names.Add(ep.Binding.GetType().Name + " " + ep.Address.Uri);
            r.Set("endpoints", string.Join(" | ", names));
            var errors = new List<string>();
            foreach (MetadataConversionError e in importer.Errors) errors.Add(e.Message);
            r.Set("importErrors", string.Join(" | ", errors));
            var contracts = new List<string>();
            foreach (ContractDescription c in importer.ImportAllContracts()) contracts.Add(c.Name);
            r.Set("contracts", string.Join(",", contracts));
            ServiceEndpoint chosen = null;
            foreach (ServiceEndpoint ep in endpoints)
            {
                bool basic = ep.Binding is BasicHttpBinding;
                if ((bindingKind == "basic" && basic) || (bindingKind != "basic" && !basic)) { chosen = ep; break; }
            }
            if (chosen == null) return r.Set("ok", false).Set("message", "no imported endpoint for binding " + bindingKind);
            var f = new ChannelFactory<ICalculator>(chosen.Binding, chosen.Address);
            var ch = f.CreateChannel();
            try
            {
                int sum = Call(ch, "Add", () => ch.Add(20, 22));
                return r.Set("ok", sum == 42).Set("result", sum).Set("importedAddress", chosen.Address.Uri.ToString());
            }
            finally
            {
                Close(ch);
                try { f.Close(); } catch (Exception) { f.Abort(); }
            }
#endif
        }

#if !NETCOREAPP
        static void EnqueueSchemaRefs(System.Xml.Schema.XmlSchema schema, string baseUrl, Queue<string> queue)
        {
            foreach (System.Xml.Schema.XmlSchemaObject o in schema.Includes)
            {
                var ext = o as System.Xml.Schema.XmlSchemaExternal;
                if (ext != null && !string.IsNullOrEmpty(ext.SchemaLocation)) queue.Enqueue(new Uri(new Uri(baseUrl), ext.SchemaLocation).ToString());
            }
        }
#endif

        // The server's certificate must chain to this CA (PEM), and only to it: the relay's own
        // certificate validated, not switched off.
        static void TrustOnly(ChannelFactory<ICalculator> f, string caFile)
        {
#if NETCOREAPP
            var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(System.IO.File.ReadAllText(caFile));
            f.Credentials.ServiceCertificate.SslCertificateAuthentication = new System.ServiceModel.Security.X509ServiceCertificateAuthentication
            {
                CertificateValidationMode = System.ServiceModel.Security.X509CertificateValidationMode.Custom,
                CustomCertificateValidator = new CaValidator(ca),
            };
#else
            throw new NotSupportedException("--ca is for Microsoft's client");
#endif
        }

        // ---- channels and calls ------------------------------------------------------------------

        static ICalculator Open()
        {
            var ch = via == null ? factory.CreateChannel(address) : factory.CreateChannel(address, via);
            ((IClientChannel)ch).Open();
            return ch;
        }

        static void Close(ICalculator ch)
        {
            var c = (IClientChannel)ch;
            try
            {
                if (c.State == CommunicationState.Faulted) c.Abort();
                else c.Close();
            }
            catch (Exception) { c.Abort(); }
        }

        // Runs one call; adds the ServiceBusAuthorization HTTP header when --header-token is given.
        // Mono 6.8 quirk: an HttpRequestMessageProperty REPLACES all request headers (it clears the
        // SOAPAction and Content-Type the channel had set), so they are set here again.
        static T Call<T>(ICalculator ch, string op, Func<T> call)
        {
            if (headerToken == null || bindingKind.StartsWith("tcp")) return call();
            using (new OperationContextScope((IContextChannel)ch))
            {
                var prop = new HttpRequestMessageProperty();
                prop.Headers["ServiceBusAuthorization"] = headerToken;
                if (bindingKind == "basic")
                {
                    prop.Headers["Content-Type"] = "text/xml; charset=utf-8";
                    prop.Headers["SOAPAction"] = "\"" + Names.Contract + "/ICalculator/" + op + "\"";
                }
                else
                {
                    prop.Headers["Content-Type"] = "application/soap+xml; charset=utf-8";
                }
                OperationContext.Current.OutgoingMessageProperties[HttpRequestMessageProperty.Name] = prop;
                return call();
            }
        }

        static void Call(ICalculator ch, string op, Action call)
        {
            Call<int>(ch, op, () => { call(); return 0; });
        }

        static T WithChannel<T>(Func<ICalculator, T> body)
        {
            var ch = Open();
            try { return body(ch); }
            finally { Close(ch); }
        }

        // ---- scenarios ---------------------------------------------------------------------------

        static JsonObject Add(JsonObject r)
        {
            int a = Args.GetInt(opts, "a", 2), b = Args.GetInt(opts, "b", 3);
            return WithChannel(ch =>
            {
                var results = new List<int>();
                for (int i = 0; i < count; i++) results.Add(Call(ch, "Add", () => ch.Add(a, b)));
                bool same = results.All(x => x == unchecked(a + b));
                return r.Set("ok", same).Set("result", results[0]).Set("count", count);
            });
        }

        static JsonObject Echo(JsonObject r)
        {
            string text = Args.Get(opts, "text", null);
            if (text == null && size < 0) text = Unicode;
            if (text == null)
            {
                // --size N: N characters of the Unicode sample (with markup characters) repeated.
                var sb = new System.Text.StringBuilder(size + 16);
                while (sb.Length < size) sb.Append(Unicode).Append(' ');
                text = sb.ToString(0, size);
            }
            return WithChannel(ch =>
            {
                string res = null;
                for (int i = 0; i < count; i++) res = Call(ch, "Echo", () => ch.Echo(text));
                bool ok = res == "echo:" + text;
                r.Set("ok", ok).Set("length", res == null ? -1 : res.Length).Set("sentLength", text.Length);
                if (res != null && res.Length <= 256) r.Set("result", res);
                else if (res != null) r.Set("head", res.Substring(0, 32)).Set("tail", res.Substring(res.Length - 32));
                return r;
            });
        }

        static JsonObject Process(JsonObject r)
        {
            // --capture-record: exactly the Record of the Mono captures (5-byte blob, no Amount/Local).
            bool capture = Args.GetBool(opts, "capture-record", false);
            int blobSize = Args.GetInt(opts, "blob", 70000);
            var blob = new byte[blobSize];
            for (int i = 0; i < blob.Length; i++) blob[i] = (byte)(i % 251);
            if (capture) blob = new byte[] { 0, 1, 2, 254, 255 };
            var input = new Record
            {
                Id = 41,
                Name = Unicode,
                Value = 1.5,
                When = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc),
                Local = new DateTime(2024, 6, 1, 12, 30, 0, DateTimeKind.Local),
                Blob = blob,
                Tags = new List<string> { "a", "b" },
                Amount = 12345.6789m,
            };
            if (capture)
            {
                input.Amount = 0m;
                input.Local = DateTime.MinValue;
            }
            return WithChannel(ch =>
            {
                var o = Call(ch, "Process", () => ch.Process(input));
                bool blobOk = o.Blob != null && o.Blob.Length == blob.Length;
                if (blobOk)
                {
                    for (int i = 0; i < blob.Length; i++)
                    {
                        if (o.Blob[i] != blob[blob.Length - 1 - i]) { blobOk = false; break; }
                    }
                }
                r.Set("ok", o.Id == 42 && o.Name == Unicode + "!" && blobOk && o.Amount == input.Amount * 2
                    && o.When == input.When.AddDays(1) && o.Tags != null && o.Tags.Count == 3);
                r.Set("id", o.Id).Set("name", o.Name).Set("value", o.Value);
                r.Set("when", o.When.ToString("o", CultureInfo.InvariantCulture)).Set("whenKind", o.When.Kind.ToString());
                r.Set("local", o.Local.ToString("o", CultureInfo.InvariantCulture)).Set("localKind", o.Local.Kind.ToString());
                r.Set("localSent", input.Local.ToString("o", CultureInfo.InvariantCulture));
                r.Set("blobLength", o.Blob == null ? -1 : o.Blob.Length).Set("blobReversed", blobOk);
                r.Set("tags", o.Tags);
                r.Set("amount", o.Amount.ToString(CultureInfo.InvariantCulture));
                return r;
            });
        }

        static JsonObject Divide(JsonObject r)
        {
            return WithChannel(ch =>
            {
                r.Set("result", Call(ch, "Divide", () => ch.Divide(7, 2)));
                try
                {
                    Call(ch, "Divide", () => ch.Divide(1, 0));
                    return r.Set("ok", false).Set("error", "no fault");
                }
                catch (FaultException<CalcFault> e)
                {
                    Describe(r, e);
                    r.Set("detail", new JsonObject().Set("operation", e.Detail.Operation).Set("problem", e.Detail.Problem));
                    return r.Set("ok", true);
                }
            });
        }

        static JsonObject Fail(JsonObject r)
        {
            return WithChannel(ch =>
            {
                try
                {
                    Call(ch, "Fail", () => ch.Fail("boom"));
                    return r.Set("ok", false).Set("error", "no fault");
                }
                catch (FaultException e)
                {
                    Describe(r, e);
                    return r.Set("ok", true);
                }
            });
        }

        static JsonObject Crash(JsonObject r)
        {
            return WithChannel(ch =>
            {
                try
                {
                    Call(ch, "Crash", () => ch.Crash("bang"));
                    return r.Set("ok", false).Set("error", "no fault");
                }
                catch (FaultException e)
                {
                    Describe(r, e);
                    return r.Set("ok", true);
                }
            });
        }

        static JsonObject Notify(JsonObject r)
        {
            string msg = Args.Get(opts, "text", "ping-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            return WithChannel(ch =>
            {
                Call(ch, "Notify", () => ch.Notify(msg));
                r.Set("sent", msg);
                // A one-way call returns before the service runs it: poll for up to 5 s.
                bool seen = false;
                var sw = Stopwatch.StartNew();
                while (sw.ElapsedMilliseconds < 5000)
                {
                    seen = Call(ch, "WasNotified", () => ch.WasNotified(msg));
                    if (seen) break;
                    Thread.Sleep(50);
                }
                r.Set("waitedMs", (int)sw.ElapsedMilliseconds);
                return r.Set("ok", seen).Set("observed", seen);
            });
        }

        // Two channels from one ChannelFactory, interleaved calls, then a third channel after the
        // first closes (for net.tcp that one can reuse the pooled connection).
        static JsonObject TwoChannels(JsonObject r)
        {
            var results = new List<int>();
            var ch1 = Open();
            var ch2 = Open();
            try
            {
                results.Add(Call(ch1, "Add", () => ch1.Add(1, 1)));
                results.Add(Call(ch2, "Add", () => ch2.Add(2, 2)));
                results.Add(Call(ch1, "Add", () => ch1.Add(3, 3)));
                Close(ch1);
                results.Add(Call(ch2, "Add", () => ch2.Add(4, 4)));
                var ch3 = Open();
                try { results.Add(Call(ch3, "Add", () => ch3.Add(5, 5))); }
                finally { Close(ch3); }
            }
            finally
            {
                Close(ch1);
                Close(ch2);
            }
            bool ok = results.SequenceEqual(new[] { 2, 4, 6, 8, 10 });
            return r.Set("ok", ok).Set("results", results);
        }

        // A call, then a pause while the test restarts the relay (or nothing, directly): writes
        // PAUSE.ready, waits for PAUSE.go (--pause-file PAUSE). The old channel is closed (aborted
        // when faulted), as a client does after a CommunicationException; the next call on a new
        // channel must succeed.
        static JsonObject Restart(JsonObject r)
        {
            string pause = Args.Get(opts, "pause-file", null);
            if (pause == null) throw new ArgumentException("restart needs --pause-file PATH");
            var results = new List<int>();
            var before = Open();
            results.Add(Call(before, "Add", () => before.Add(1, 2)));
            System.IO.File.WriteAllText(pause + ".ready", "");
            var sw = Stopwatch.StartNew();
            while (!System.IO.File.Exists(pause + ".go"))
            {
                if (sw.Elapsed.TotalSeconds > 120) throw new TimeoutException("no " + pause + ".go in 120 s");
                Thread.Sleep(50);
            }
            Close(before); // aborted when the restart faulted it (closing a channel Mono's listener still serves keeps it healthy)
            var after = Open();
            try { results.Add(Call(after, "Add", () => after.Add(2, 3))); }
            finally { Close(after); }
            return r.Set("ok", results.SequenceEqual(new[] { 3, 5 })).Set("results", results);
        }

        // --count channels, each calling Add once, all at the same time.
        static JsonObject Parallel(JsonObject r)
        {
            int n = Math.Max(1, count);
            var results = new int[n];
            var errors = new List<string>();
            var threads = new List<Thread>();
            for (int i = 0; i < n; i++)
            {
                int k = i;
                var t = new Thread(() =>
                {
                    try { results[k] = WithChannel(ch => Call(ch, "Add", () => ch.Add(k, 1000))); }
                    catch (Exception e) { lock (errors) errors.Add(e.GetType().Name + ": " + e.Message); }
                });
                t.Start();
                threads.Add(t);
            }
            foreach (var t in threads) t.Join();
            bool ok = errors.Count == 0 && results.Select((v, i) => v == i + 1000).All(x => x);
            return r.Set("ok", ok).Set("results", results).Set("errors", errors);
        }

        // Delay(--ms): a call whose reply comes late (for relay timeout tests).
        static JsonObject DelayScenario(JsonObject r)
        {
            int ms = Args.GetInt(opts, "ms", 1000);
            return WithChannel(ch => r.Set("result", Call(ch, "Delay", () => ch.Delay(ms))).Set("ok", true));
        }

        // ---- error description ------------------------------------------------------------------

        static JsonObject Describe(JsonObject r, Exception e)
        {
            var fe = e as FaultException;
            r.Set(fe != null ? "faultType" : "error", e.GetType().Name);
            r.Set("message", e.Message);
            if (fe != null)
            {
                if (fe.Code != null)
                {
                    r.Set("code", fe.Code.Name).Set("codeNs", fe.Code.Namespace);
                    if (fe.Code.SubCode != null) r.Set("subcode", fe.Code.SubCode.Name).Set("subcodeNs", fe.Code.SubCode.Namespace);
                }
                try { r.Set("reason", fe.Reason.ToString()); } catch (Exception) { }
                r.Set("action", fe.Action);
                var withDetail = e as FaultException<ExceptionDetail>;
                if (withDetail != null && withDetail.Detail != null)
                {
                    r.Set("exceptionDetail", new JsonObject().Set("type", withDetail.Detail.Type).Set("message", withDetail.Detail.Message));
                }
            }
            else if (e.InnerException != null)
            {
                r.Set("inner", e.InnerException.GetType().Name + ": " + e.InnerException.Message);
            }
            var we = (e.InnerException as WebException) ?? (e as WebException);
            if (we != null)
            {
                r.Set("webStatus", we.Status.ToString());
                var resp = we.Response as HttpWebResponse;
                if (resp != null) r.Set("httpStatus", (int)resp.StatusCode);
            }
            return r;
        }
    }

    // An endpoint behavior that puts a SAS token on every message, as Azure's *RelayBinding clients
    // do: the ServiceBusAuthorization HTTP header on HTTP bindings, a RelayAccessToken SOAP header
    // (a BinarySecurityToken, as NetTcpRelayBinding's RelayedConnect carries it) on net.tcp.
    public class RelayTokenBehavior : IEndpointBehavior, System.ServiceModel.Dispatcher.IClientMessageInspector
    {
        readonly string token;
        readonly string bindingKind;
        public RelayTokenBehavior(string token, string bindingKind) { this.token = token; this.bindingKind = bindingKind; }

        public void AddBindingParameters(ServiceEndpoint endpoint, BindingParameterCollection parameters) { }
        public void ApplyDispatchBehavior(ServiceEndpoint endpoint, System.ServiceModel.Dispatcher.EndpointDispatcher dispatcher) { }
        public void Validate(ServiceEndpoint endpoint) { }
        public void ApplyClientBehavior(ServiceEndpoint endpoint, System.ServiceModel.Dispatcher.ClientRuntime runtime)
        {
#if NETCOREAPP
            runtime.ClientMessageInspectors.Add(this);
#else
            runtime.MessageInspectors.Add(this);
#endif
        }

        public object BeforeSendRequest(ref Message request, IClientChannel channel)
        {
            if (bindingKind.StartsWith("tcp"))
            {
                request.Headers.Add(new RelayAccessTokenHeader(token));
                return null;
            }
            object existing;
            HttpRequestMessageProperty prop;
            if (request.Properties.TryGetValue(HttpRequestMessageProperty.Name, out existing)) prop = (HttpRequestMessageProperty)existing;
            else
            {
                prop = new HttpRequestMessageProperty();
                request.Properties[HttpRequestMessageProperty.Name] = prop;
#if !NETCOREAPP
                // Mono 6.8: a request property replaces every header the channel would set.
                if (bindingKind == "basic")
                {
                    prop.Headers["Content-Type"] = "text/xml; charset=utf-8";
                    prop.Headers["SOAPAction"] = "\"" + request.Headers.Action + "\"";
                }
                else prop.Headers["Content-Type"] = "application/soap+xml; charset=utf-8";
#endif
            }
            prop.Headers["ServiceBusAuthorization"] = token;
            return null;
        }

        public void AfterReceiveReply(ref Message reply, object correlationState) { }
    }

    public class RelayAccessTokenHeader : MessageHeader
    {
        const string ConnectNs = "http://schemas.microsoft.com/netservices/2009/05/servicebus/connect";
        const string Wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
        const string Wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
        readonly string token;
        public RelayAccessTokenHeader(string token) { this.token = token; }
        public override string Name { get { return "RelayAccessToken"; } }
        public override string Namespace { get { return ConnectNs; } }
        protected override void OnWriteHeaderContents(System.Xml.XmlDictionaryWriter writer, MessageVersion version)
        {
            writer.WriteStartElement("wsse", "BinarySecurityToken", Wsse);
            writer.WriteAttributeString("wsu", "Id", Wsu, "uuid:" + Guid.NewGuid().ToString());
            writer.WriteAttributeString("ValueType", "http://schemas.microsoft.com/servicebus/2010/08/protocol/relaytoken");
            writer.WriteAttributeString("EncodingType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary");
            writer.WriteString(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(token)));
            writer.WriteEndElement();
        }
    }

#if NETCOREAPP
    public class CaValidator : System.IdentityModel.Selectors.X509CertificateValidator
    {
        readonly System.Security.Cryptography.X509Certificates.X509Certificate2 ca;
        public CaValidator(System.Security.Cryptography.X509Certificates.X509Certificate2 ca) { this.ca = ca; }
        public override void Validate(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
        {
            var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            if (!chain.Build(certificate)) throw new System.IdentityModel.Tokens.SecurityTokenValidationException("the server certificate does not chain to the given CA");
        }
    }
#endif
}
