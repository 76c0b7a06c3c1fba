// The calculator contract of the Mono 6.8 captures in /work/shared/vectors/mono-6.8 (see
// test/fixtures/soap): the same names, namespaces and member order, so this harness puts the same
// envelopes on the wire. Members added for the harness (Amount, Local, GetLastNotification, Delay)
// are either new operations or omitted from the wire when left at their default value.
using System;
using System.Collections.Generic;
using System.Runtime.Serialization;
using System.ServiceModel;

namespace RelayBridge.Interop
{
    public static class Names
    {
        public const string Contract = "http://example.org/calc";
        public const string Data = "http://example.org/calc/data";
        public const string Faults = "http://example.org/calc/faults";
    }

    [DataContract(Namespace = Names.Data)]
    public class Record
    {
        [DataMember(Order = 0)] public int Id;
        [DataMember(Order = 1)] public string Name;
        [DataMember(Order = 2)] public double Value;
        [DataMember(Order = 3)] public DateTime When;
        [DataMember(Order = 4)] public byte[] Blob;
        [DataMember(Order = 5)] public List<string> Tags;
        // Not in the captures: left out of the envelope when zero / DateTime.MinValue.
        [DataMember(Order = 6, EmitDefaultValue = false)] public decimal Amount;
        [DataMember(Order = 7, EmitDefaultValue = false)] public DateTime Local;
    }

    [DataContract(Namespace = Names.Data)]
    public class CalcFault
    {
        [DataMember(Order = 0)] public string Operation;
        [DataMember(Order = 1)] public string Problem;
    }

    [ServiceContract(Namespace = Names.Contract)]
    public interface ICalculator
    {
        [OperationContract] int Add(int a, int b);

        [OperationContract] string Echo(string text);

        [OperationContract] Record Process(Record input);

        // Typed fault. Mono 6.8 sends the default fault action without a slash:
        // "http://example.org/calcICalculator/DivideCalcFaultFault".
        [OperationContract, FaultContract(typeof(CalcFault))] int Divide(int a, int b);

        // Throws FaultException("Fail: " + msg).
        [OperationContract] void Fail(string msg);

        // Throws InvalidOperationException("Crash: " + msg) (an unhandled service exception).
        [OperationContract] void Crash(string msg);

        [OperationContract(IsOneWay = true)] void Notify(string msg);

        // Harness helpers (not in the captures).
        [OperationContract] string GetLastNotification();

        // True once Notify(msg) has run (the service remembers the last 1000 notifications).
        [OperationContract] bool WasNotified(string msg);

        [OperationContract] int Delay(int ms);
    }

    /** The contract's behaviour both calculator services share (Mono's WcfService, the SoapCore one). */
    public static class CalcOps
    {
        public static Record Process(Record input)
        {
            if (input == null) return null;
            byte[] blob = null;
            if (input.Blob != null)
            {
                blob = (byte[])input.Blob.Clone();
                Array.Reverse(blob);
            }
            var tags = input.Tags == null ? new List<string>() : new List<string>(input.Tags);
            tags.Add("processed");
            return new Record
            {
                Id = input.Id + 1,
                Name = input.Name + "!",
                Value = input.Value * 2,
                When = input.When.AddDays(1),
                Blob = blob,
                Tags = tags,
                Amount = input.Amount * 2,
                Local = input.Local == DateTime.MinValue ? DateTime.MinValue : input.Local.AddDays(1),
            };
        }

        public static int Divide(int a, int b)
        {
            if (b == 0)
            {
                throw new FaultException<CalcFault>(
                    new CalcFault { Operation = "Divide", Problem = "division by zero" },
                    new FaultReason("Cannot divide by zero"),
                    new FaultCode("DivideByZero", Names.Faults));
            }
            return a / b;
        }
    }
}
