// A minimal JSON writer (no dependency on Newtonsoft / System.Web.Extensions): one object per line.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace RelayBridge.Interop
{
    public sealed class JsonObject
    {
        readonly List<KeyValuePair<string, object>> fields = new List<KeyValuePair<string, object>>();

        public JsonObject Set(string key, object value)
        {
            for (int i = 0; i < fields.Count; i++)
            {
                if (fields[i].Key == key) { fields[i] = new KeyValuePair<string, object>(key, value); return this; }
            }
            fields.Add(new KeyValuePair<string, object>(key, value));
            return this;
        }

        public override string ToString()
        {
            var sb = new StringBuilder();
            Write(sb, this);
            return sb.ToString();
        }

        static void Write(StringBuilder sb, object v)
        {
            if (v == null) { sb.Append("null"); return; }
            var obj = v as JsonObject;
            if (obj != null)
            {
                sb.Append('{');
                for (int i = 0; i < obj.fields.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    WriteString(sb, obj.fields[i].Key);
                    sb.Append(':');
                    Write(sb, obj.fields[i].Value);
                }
                sb.Append('}');
                return;
            }
            if (v is string) { WriteString(sb, (string)v); return; }
            if (v is bool) { sb.Append((bool)v ? "true" : "false"); return; }
            if (v is int || v is long || v is short || v is byte)
            {
                sb.Append(Convert.ToInt64(v, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                return;
            }
            if (v is double || v is float)
            {
                double d = Convert.ToDouble(v, CultureInfo.InvariantCulture);
                if (double.IsNaN(d) || double.IsInfinity(d)) { sb.Append("null"); return; }
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                return;
            }
            var list = v as IEnumerable;
            if (list != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (var item in list)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, item);
                }
                sb.Append(']');
                return;
            }
            WriteString(sb, Convert.ToString(v, CultureInfo.InvariantCulture));
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20 || c == '\u2028' || c == '\u2029') sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }

    public static class Args
    {
        // Parses "--name value" pairs and bare "--flag"s (value "true").
        public static Dictionary<string, string> Parse(string[] args)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                if (!a.StartsWith("--")) throw new ArgumentException("unexpected argument: " + a);
                string key = a.Substring(2);
                int eq = key.IndexOf('=');
                if (eq >= 0) { map[key.Substring(0, eq)] = key.Substring(eq + 1); continue; }
                if (i + 1 < args.Length && !args[i + 1].StartsWith("--")) map[key] = args[++i];
                else map[key] = "true";
            }
            return map;
        }

        public static string Get(Dictionary<string, string> map, string key, string dflt)
        {
            string v;
            return map.TryGetValue(key, out v) ? v : dflt;
        }

        public static int GetInt(Dictionary<string, string> map, string key, int dflt)
        {
            string v;
            return map.TryGetValue(key, out v) ? int.Parse(v, CultureInfo.InvariantCulture) : dflt;
        }

        public static double GetDouble(Dictionary<string, string> map, string key, double dflt)
        {
            string v;
            return map.TryGetValue(key, out v) ? double.Parse(v, CultureInfo.InvariantCulture) : dflt;
        }

        public static bool GetBool(Dictionary<string, string> map, string key, bool dflt)
        {
            string v;
            if (!map.TryGetValue(key, out v)) return dflt;
            return v == "true" || v == "1" || v == "yes";
        }
    }

    public static class Bindings
    {
        public const int MaxMessage = 16 * 1024 * 1024;

        public static System.Xml.XmlDictionaryReaderQuotas BigQuotas()
        {
            var q = new System.Xml.XmlDictionaryReaderQuotas();
            q.MaxStringContentLength = MaxMessage;
            q.MaxArrayLength = MaxMessage;
            q.MaxBytesPerRead = 64 * 1024;
            q.MaxDepth = 64;
            q.MaxNameTableCharCount = 1024 * 1024;
            return q;
        }

        // Code-built bindings with 16 MB message limits and large reader quotas, security None.
        public static System.ServiceModel.Channels.Binding Create(string kind, TimeSpan timeout)
        {
            System.ServiceModel.Channels.Binding b;
            switch (kind)
            {
                case "basic":
                case "basic-https":
                case "basic-streamed":
                {
                    // basic-https: BasicHttpBinding over TLS (Transport security), the relay's https endpoint.
                    var basic = new System.ServiceModel.BasicHttpBinding(kind == "basic-https"
                        ? System.ServiceModel.BasicHttpSecurityMode.Transport
                        : System.ServiceModel.BasicHttpSecurityMode.None);
                    basic.MaxReceivedMessageSize = MaxMessage;
                    basic.MaxBufferSize = MaxMessage;
                    basic.MaxBufferPoolSize = MaxMessage;
                    basic.ReaderQuotas = BigQuotas();
                    // basic-streamed: TransferMode.Streamed (the request goes chunked, the reply is read as a stream).
                    if (kind == "basic-streamed") basic.TransferMode = System.ServiceModel.TransferMode.Streamed;
                    b = basic;
                    break;
                }
                case "ws":
                case "ws-https":
                {
                    // ws-https: Transport security (https), no client credential.
                    var ws = new System.ServiceModel.WSHttpBinding(kind == "ws-https"
                        ? System.ServiceModel.SecurityMode.Transport
                        : System.ServiceModel.SecurityMode.None, false);
                    if (kind == "ws-https") ws.Security.Transport.ClientCredentialType = System.ServiceModel.HttpClientCredentialType.None;
                    ws.MaxReceivedMessageSize = MaxMessage;
                    ws.MaxBufferPoolSize = MaxMessage;
                    ws.ReaderQuotas = BigQuotas();
                    b = ws;
                    break;
                }
                case "tcp":
                case "tcp-tls":
                {
                    // tcp-tls: Transport security, no client credential (the application/ssl-tls upgrade).
                    var tcp = new System.ServiceModel.NetTcpBinding(kind == "tcp-tls"
                        ? System.ServiceModel.SecurityMode.Transport
                        : System.ServiceModel.SecurityMode.None, false);
                    if (kind == "tcp-tls") tcp.Security.Transport.ClientCredentialType = System.ServiceModel.TcpClientCredentialType.None;
                    tcp.MaxReceivedMessageSize = MaxMessage;
                    tcp.MaxBufferSize = MaxMessage;
                    tcp.MaxBufferPoolSize = MaxMessage;
                    tcp.ReaderQuotas = BigQuotas();
                    b = tcp;
                    break;
                }
                case "tcp-streamed":
                {
                    // TransferMode.Streamed: NMF singleton-unsized, binary without session (msbin1).
                    var tcp = new System.ServiceModel.NetTcpBinding(System.ServiceModel.SecurityMode.None, false);
                    tcp.TransferMode = System.ServiceModel.TransferMode.Streamed;
                    tcp.MaxReceivedMessageSize = MaxMessage;
                    tcp.MaxBufferSize = MaxMessage;
                    tcp.MaxBufferPoolSize = MaxMessage;
                    tcp.ReaderQuotas = BigQuotas();
                    b = tcp;
                    break;
                }
                default:
                    throw new ArgumentException("unknown binding: " + kind + " (basic|basic-https|basic-streamed|ws|ws-https|tcp|tcp-tls|tcp-streamed)");
            }
            b.OpenTimeout = timeout;
            b.SendTimeout = timeout;
            b.ReceiveTimeout = timeout;
            b.CloseTimeout = timeout;
            return b;
        }
    }
}
