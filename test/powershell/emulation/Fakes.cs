// .NET types of Windows that Linux lacks or refuses, acting on the emulated machine's state
// (WinprovEmulation.State.Root). emulation.ps1 compiles this file once (cached under .scratch by a
// hash of its text) and registers each fake as a type accelerator under the Windows type's full name,
// before any script under test is compiled.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Security.AccessControl;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Win32;

namespace WinprovEmulation
{
    /// <summary>The machine: plain maps (case-insensitive keys) and lists, saved as JSON after each change.</summary>
    public static class State
    {
        public static Hashtable Root = NewMap();
        public static string FilePath;

        public static Hashtable NewMap() { return new Hashtable(StringComparer.OrdinalIgnoreCase); }

        static DateTime stampTime;
        static long stampLength = -1;

        public static void Load(string path)
        {
            FilePath = path;
            using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
            {
                Root = (Hashtable)FromJson(doc.RootElement);
            }
            Stamp();
        }

        static void Stamp()
        {
            var info = new FileInfo(FilePath);
            stampTime = info.LastWriteTimeUtc;
            stampLength = info.Exists ? info.Length : -1;
        }

        /// <summary>Loads the state file again when someone else (a test) rewrote it since this process last read or wrote it.</summary>
        public static void Refresh()
        {
            if (string.IsNullOrEmpty(FilePath)) return;
            var info = new FileInfo(FilePath);
            if (!info.Exists) return;
            if (info.LastWriteTimeUtc != stampTime || info.Length != stampLength) Load(FilePath);
        }

        public static void Set(object value, string path)
        {
            Root = (Hashtable)Normalize(value, 0);
            FilePath = path;
        }

        public static object FromJson(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    var map = NewMap();
                    foreach (var p in e.EnumerateObject()) map[p.Name] = FromJson(p.Value);
                    return map;
                case JsonValueKind.Array:
                    var list = new List<object>();
                    foreach (var item in e.EnumerateArray()) list.Add(FromJson(item));
                    return list;
                case JsonValueKind.String: return e.GetString();
                case JsonValueKind.Number:
                    long l;
                    if (e.TryGetInt64(out l)) return l;
                    return e.GetDouble();
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                default: return null;
            }
        }

        /// <summary>PowerShell values (hashtables, arrays, PSCustomObjects, ints) as the state's plain shape.</summary>
        public static object Normalize(object v, int depth)
        {
            if (depth > 64) throw new InvalidOperationException("the emulation state nests too deeply");
            var ps = v as PSObject;
            if (ps != null)
            {
                if (ps.BaseObject is PSCustomObject)
                {
                    var m = NewMap();
                    foreach (var p in ps.Properties) m[p.Name] = Normalize(p.Value, depth + 1);
                    return m;
                }
                v = ps.BaseObject;
            }
            if (v == null) return null;
            if (v is string || v is bool || v is long || v is double) return v;
            if (v is int || v is short || v is byte || v is uint || v is ushort || v is sbyte) return Convert.ToInt64(v, CultureInfo.InvariantCulture);
            if (v is ulong) return (long)(ulong)v;
            if (v is float || v is decimal) return Convert.ToDouble(v, CultureInfo.InvariantCulture);
            if (v is byte[]) return Convert.ToBase64String((byte[])v);
            if (v is Enum) return v.ToString();
            if (v is DateTime) return ((DateTime)v).ToUniversalTime().ToString("o", CultureInfo.InvariantCulture);
            if (v is System.Security.SecureString) return typeof(System.Security.SecureString).FullName;
            var dict = v as IDictionary;
            if (dict != null)
            {
                var m = NewMap();
                foreach (DictionaryEntry de in dict) m[Convert.ToString(de.Key, CultureInfo.InvariantCulture)] = Normalize(de.Value, depth + 1);
                return m;
            }
            var en = v as IEnumerable;
            if (en != null)
            {
                var list = new List<object>();
                foreach (var item in en) list.Add(Normalize(item, depth + 1));
                return list;
            }
            return Convert.ToString(v, CultureInfo.InvariantCulture);
        }

        /// <summary>Writes the state file (temporary file + rename), when one is named.</summary>
        public static void Save()
        {
            if (string.IsNullOrEmpty(FilePath)) return;
            var temporary = FilePath + ".tmp" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(temporary, ToJson(Root, true));
            File.Move(temporary, FilePath, true);
            Stamp();
        }

        public static string ToJson(object value, bool indented)
        {
            using (var stream = new MemoryStream())
            {
                using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    Write(w, value, 0);
                }
                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }

        static void Write(Utf8JsonWriter w, object v, int depth)
        {
            var ps = v as PSObject;
            if (ps != null && !(ps.BaseObject is PSCustomObject)) v = ps.BaseObject;
            if (v == null || depth > 64) { w.WriteNullValue(); return; }
            if (v is string) { w.WriteStringValue((string)v); return; }
            if (v is bool) { w.WriteBooleanValue((bool)v); return; }
            if (v is long || v is int || v is short || v is byte || v is uint || v is ushort || v is sbyte) { w.WriteNumberValue(Convert.ToInt64(v, CultureInfo.InvariantCulture)); return; }
            if (v is ulong) { w.WriteNumberValue((ulong)v); return; }
            if (v is double || v is float || v is decimal) { w.WriteNumberValue(Convert.ToDouble(v, CultureInfo.InvariantCulture)); return; }
            if (v is byte[]) { w.WriteStringValue(Convert.ToBase64String((byte[])v)); return; }
            var dict = v as IDictionary;
            if (dict != null)
            {
                w.WriteStartObject();
                var keys = new List<string>();
                foreach (var k in dict.Keys) keys.Add(Convert.ToString(k, CultureInfo.InvariantCulture));
                foreach (var k in keys) { w.WritePropertyName(k); Write(w, dict[k], depth + 1); }
                w.WriteEndObject();
                return;
            }
            if (ps != null)
            {
                w.WriteStartObject();
                foreach (var p in ps.Properties) { w.WritePropertyName(p.Name); Write(w, p.Value, depth + 1); }
                w.WriteEndObject();
                return;
            }
            var en = v as IEnumerable;
            if (en != null)
            {
                w.WriteStartArray();
                foreach (var item in en) Write(w, item, depth + 1);
                w.WriteEndArray();
                return;
            }
            w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture));
        }

        public static Hashtable Map(Hashtable parent, string key)
        {
            var m = parent[key] as Hashtable;
            if (m == null) { m = NewMap(); parent[key] = m; }
            return m;
        }

        public static List<object> List(Hashtable parent, string key)
        {
            var l = parent[key] as List<object>;
            if (l == null) { l = new List<object>(); parent[key] = l; }
            return l;
        }

        /// <summary>state.faults[name], or null.</summary>
        public static Hashtable Fault(string name)
        {
            var faults = Root["faults"] as Hashtable;
            return faults == null ? null : faults[name] as Hashtable;
        }

        public static string Str(object v) { return v == null ? null : Convert.ToString(v, CultureInfo.InvariantCulture); }
        public static bool Bool(object v) { return v is bool ? (bool)v : (v != null && string.Equals(Str(v), "true", StringComparison.OrdinalIgnoreCase)); }
    }

    /// <summary>Error records with Windows' FullyQualifiedErrorId ("Id,Microsoft...Command"), which a function could not produce itself.</summary>
    public static class Errors
    {
        static readonly FieldInfo Fqid = typeof(ErrorRecord).GetField("_serializedFullyQualifiedErrorId", BindingFlags.NonPublic | BindingFlags.Instance);

        public static ErrorRecord Record(Exception exception, string errorId, ErrorCategory category, object target, string fullyQualifiedErrorId)
        {
            var record = new ErrorRecord(exception, errorId, category, target);
            if (!string.IsNullOrEmpty(fullyQualifiedErrorId) && Fqid != null) Fqid.SetValue(record, fullyQualifiedErrorId);
            return record;
        }

        public static Exception HResult(Exception e, int hresult) { e.HResult = hresult; return e; }

        /// <summary>A Win32Exception with the code and a message of its own (Linux has no Windows message table).</summary>
        public static System.ComponentModel.Win32Exception Win32(int code, string message)
        {
            return new System.ComponentModel.Win32Exception(code, message);
        }
    }

    /// <summary>One record per command call: the in-memory list, and a JSON line in WINPROV_EMULATION_CALLS.</summary>
    public static class Recorder
    {
        public static readonly List<Hashtable> Calls = new List<Hashtable>();
        const int MaxDepth = 8;
        const int MaxStrings = 4000;

        public static void Record(string command, string parameterSet, IDictionary bound, object pipelineItem, bool hasPipelineItem)
        {
            var boundText = new System.Collections.Specialized.OrderedDictionary();
            var deep = new List<string>();
            var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
            if (bound != null)
            {
                foreach (DictionaryEntry de in bound)
                {
                    var name = Convert.ToString(de.Key, CultureInfo.InvariantCulture);
                    boundText[name] = BindingText(de.Value);
                    Deep(de.Value, deep, 0, seen);
                }
            }
            if (hasPipelineItem)
            {
                boundText["(pipeline)"] = BindingText(pipelineItem);
                Deep(pipelineItem, deep, 0, seen);
            }
            var entry = new Hashtable();
            entry["command"] = command;
            entry["parameterSet"] = parameterSet;
            entry["bound"] = boundText;
            entry["deep"] = deep;
            Calls.Add(entry);
            var file = Environment.GetEnvironmentVariable("WINPROV_EMULATION_CALLS");
            if (!string.IsNullOrEmpty(file))
            {
                var text = "{\"command\":" + JsonSerializer.Serialize(command) + ",\"parameterSet\":" + JsonSerializer.Serialize(parameterSet ?? "") +
                    ",\"bound\":" + State.ToJson(boundText, false) + ",\"deep\":" + State.ToJson(deep, false) + "}\n";
                using (var fs = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
                {
                    var bytes = Encoding.UTF8.GetBytes(text);
                    fs.Write(bytes, 0, bytes.Length);
                }
            }
        }

        /// <summary>What Module Logging (event 4103, ParameterBinding) prints for a bound value.</summary>
        public static string BindingText(object value)
        {
            var ps = value as PSObject;
            object baseObject = ps != null ? ps.BaseObject : value;
            if (baseObject == null) return "";
            if (baseObject is string) return (string)baseObject;
            if (baseObject is IDictionary || baseObject is System.Xml.XmlNode) return baseObject.GetType().FullName;
            var en = baseObject as IEnumerable;
            if (en != null)
            {
                var parts = new List<string>();
                foreach (var item in en) parts.Add(item == null ? "" : Text(item));
                return string.Join(", ", parts);
            }
            return Text(value);
        }

        static string Text(object v)
        {
            try { return LanguagePrimitives.ConvertTo<string>(v); } catch { return v.GetType().FullName; }
        }

        /// <summary>Every string reachable from the value.</summary>
        public static void Deep(object value, List<string> into, int depth, HashSet<object> seen)
        {
            if (value == null || into.Count >= MaxStrings || depth > MaxDepth) return;
            var ps = value as PSObject;
            object b = ps != null ? ps.BaseObject : value;
            if (b is string) { into.Add((string)b); return; }
            if (b is System.Security.SecureString) { into.Add(typeof(System.Security.SecureString).FullName); return; }
            if (b is byte[]) { into.Add(Convert.ToBase64String((byte[])b)); return; }
            if (b is char[]) { into.Add(new string((char[])b)); return; }
            if (b is ValueType || b is Enum) { into.Add(Convert.ToString(b, CultureInfo.InvariantCulture)); return; }
            if (b is ScriptBlock) { into.Add(b.ToString()); return; }
            if (b is Type) { into.Add(((Type)b).FullName); return; }
            if (!b.GetType().IsValueType && !seen.Add(b)) return;
            if (b is System.Xml.XmlNode) { into.Add(((System.Xml.XmlNode)b).OuterXml); return; }
            if (b is X509Certificate) { into.Add(((X509Certificate)b).Subject); into.Add(((X509Certificate2)b).Thumbprint); return; }
            var dict = b as IDictionary;
            if (dict != null)
            {
                foreach (DictionaryEntry de in dict) { Deep(de.Key, into, depth + 1, seen); Deep(de.Value, into, depth + 1, seen); }
                return;
            }
            if (b is PSCustomObject && ps != null)
            {
                foreach (var p in ps.Properties) { into.Add(p.Name); object pv = null; try { pv = p.Value; } catch { } Deep(pv, into, depth + 1, seen); }
                return;
            }
            var en = b as IEnumerable;
            if (en != null)
            {
                foreach (var item in en) Deep(item, into, depth + 1, seen);
                return;
            }
            // Any other object: its public properties (this emulation's own types, exceptions ...).
            into.Add(Text(b));
            foreach (var p in b.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (p.GetIndexParameters().Length > 0) continue;
                object pv = null;
                try { pv = p.GetValue(b); } catch { continue; }
                Deep(pv, into, depth + 1, seen);
            }
            if (ps != null)
            {
                foreach (var p in ps.Properties)
                {
                    if (!(p is PSNoteProperty)) continue;
                    Deep(p.Value, into, depth + 1, seen);
                }
            }
        }
    }

    /// <summary>Windows paths ("C:\AzureData", "\tmp\x\y") as paths of this machine: drive letters per state.drives, backslashes as slashes.</summary>
    public static class Paths
    {
        public static string Translate(string path)
        {
            if (path == null) throw new ArgumentNullException("path");
            var p = path;
            if (p.Length >= 2 && p[1] == ':' && char.IsLetter(p[0]))
            {
                var letter = p.Substring(0, 1);
                string root = null;
                var drives = State.Root["drives"] as List<object>;
                if (drives != null)
                {
                    foreach (var d in drives.OfType<Hashtable>())
                    {
                        if (string.Equals(State.Str(d["letter"]), letter, StringComparison.OrdinalIgnoreCase)) root = State.Str(d["root"]);
                    }
                }
                if (root == null) throw new DirectoryNotFoundException("Could not find a part of the path '" + path + "'.");
                p = root.TrimEnd('/') + "/" + p.Substring(2).TrimStart('\\', '/');
            }
            return p.Replace('\\', '/');
        }
    }

    public static class FakeFile
    {
        public static bool Exists(string path) { try { return File.Exists(Paths.Translate(path)); } catch { return false; } }
        public static byte[] ReadAllBytes(string path) { return File.ReadAllBytes(Paths.Translate(path)); }
        public static string ReadAllText(string path) { return File.ReadAllText(Paths.Translate(path)); }
        public static string ReadAllText(string path, Encoding encoding) { return File.ReadAllText(Paths.Translate(path), encoding); }
        public static void WriteAllBytes(string path, byte[] bytes) { File.WriteAllBytes(Paths.Translate(path), bytes); }
        public static void WriteAllText(string path, string text) { File.WriteAllText(Paths.Translate(path), text); }
        public static void WriteAllText(string path, string text, Encoding encoding) { File.WriteAllText(Paths.Translate(path), text, encoding); }
        public static void Delete(string path) { File.Delete(Paths.Translate(path)); }
        public static string[] ReadAllLines(string path) { return File.ReadAllLines(Paths.Translate(path)); }
        public static void AppendAllText(string path, string text) { File.AppendAllText(Paths.Translate(path), text); }
        public static void Move(string source, string destination) { File.Move(Paths.Translate(source), Paths.Translate(destination)); }
        public static void Move(string source, string destination, bool overwrite) { File.Move(Paths.Translate(source), Paths.Translate(destination), overwrite); }
        public static void Replace(string source, string destination, string backup)
        {
            // A scanner holding the file for a moment: faults["File.Replace"] = @{ remaining = n } fails n calls
            // the way ReplaceFile does then (ERROR_SHARING_VIOLATION), -1 for every call.
            var fault = State.Fault("File.Replace");
            if (fault != null && Convert.ToInt32(fault["remaining"] ?? -1, CultureInfo.InvariantCulture) != 0)
            {
                var left = Convert.ToInt32(fault["remaining"] ?? -1, CultureInfo.InvariantCulture);
                if (left > 0) fault["remaining"] = left - 1;
                throw new IOException("The process cannot access the file because it is being used by another process.", unchecked((int)0x80070020));
            }
            // Windows' ReplaceFile: the destination must exist; the backup is optional. It keeps the replaced
            // file's DACL, so the recorded ACL of the destination stays as it was.
            File.Replace(Paths.Translate(source), Paths.Translate(destination), backup == null ? null : Paths.Translate(backup));
        }
        /// <summary>.NET Framework's File.SetAccessControl: the DACL goes to state.acls[real path].</summary>
        public static void SetAccessControl(string path, FakeFileSecurity security)
        {
            if (State.Fault("File.SetAccessControl") != null) throw new UnauthorizedAccessException("Attempted to perform an unauthorized operation.");
            var real = Paths.Translate(path);
            if (!File.Exists(real)) throw new FileNotFoundException("Could not find file '" + path + "'.");
            State.Map(State.Root, "acls")[Path.GetFullPath(real)] = security.ToState();
            State.Save();
        }
        public static void Copy(string source, string destination, bool overwrite) { File.Copy(Paths.Translate(source), Paths.Translate(destination), overwrite); }
    }

    public static class FakeDirectory
    {
        public static FakeDirectoryInfo CreateDirectory(string path)
        {
            var real = Directory.CreateDirectory(Paths.Translate(path));
            return new FakeDirectoryInfo(real);
        }
        public static bool Exists(string path) { try { return Directory.Exists(Paths.Translate(path)); } catch { return false; } }
        public static void Delete(string path, bool recursive) { Directory.Delete(Paths.Translate(path), recursive); }
        public static string[] GetFiles(string path) { return Directory.GetFiles(Paths.Translate(path)); }
        public static string[] GetFiles(string path, string pattern) { return Directory.GetFiles(Paths.Translate(path), pattern); }
        public static string[] GetDirectories(string path) { return Directory.GetDirectories(Paths.Translate(path)); }
        public static string[] GetDirectories(string path, string pattern) { return Directory.GetDirectories(Paths.Translate(path), pattern); }
    }

    /// <summary>DirectoryInfo with .NET Framework's SetAccessControl: the DACL goes to state.acls[real path].</summary>
    public class FakeDirectoryInfo
    {
        readonly DirectoryInfo real;
        public FakeDirectoryInfo(DirectoryInfo real) { this.real = real; }
        public string FullName { get { return real.FullName; } }
        public string Name { get { return real.Name; } }
        public bool Exists { get { return real.Exists; } }
        public override string ToString() { return real.ToString(); }
        public void SetAccessControl(FakeDirectorySecurity security)
        {
            var fault = State.Fault("DirectoryInfo.SetAccessControl");
            if (fault != null) throw new UnauthorizedAccessException("Attempted to perform an unauthorized operation.");
            var acls = State.Map(State.Root, "acls");
            acls[real.FullName.TrimEnd('/')] = security.ToState();
            State.Save();
        }
        public FakeDirectorySecurity GetAccessControl() { return new FakeDirectorySecurity(); }
    }

    public class FakeSecurityIdentifier
    {
        public string Value { get; private set; }
        public FakeSecurityIdentifier(string sddlForm)
        {
            if (sddlForm == null) throw new ArgumentNullException("sddlForm");
            if (!System.Text.RegularExpressions.Regex.IsMatch(sddlForm, "^S-1-[0-9]+(-[0-9]+)*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
                throw new ArgumentException("Value was invalid." + Environment.NewLine + "Parameter name: sddlForm");
            Value = sddlForm.ToUpperInvariant();
        }
        public FakeSecurityIdentifier AccountDomainSid
        {
            get
            {
                var parts = Value.Split('-');
                if (parts.Length == 8 && parts[2] == "5" && parts[3] == "21") return new FakeSecurityIdentifier(string.Join("-", parts, 0, 7));
                return null;
            }
        }
        public override string ToString() { return Value; }
        public override bool Equals(object o) { var s = o as FakeSecurityIdentifier; return s != null && s.Value == Value; }
        public override int GetHashCode() { return Value.GetHashCode(); }
    }

    public class FakeFileSystemAccessRule
    {
        public object IdentityReference { get; private set; }
        public FileSystemRights FileSystemRights { get; private set; }
        public InheritanceFlags InheritanceFlags { get; private set; }
        public PropagationFlags PropagationFlags { get; private set; }
        public AccessControlType AccessControlType { get; private set; }
        public FakeFileSystemAccessRule(FakeSecurityIdentifier identity, FileSystemRights rights, InheritanceFlags inheritance, PropagationFlags propagation, AccessControlType type)
        {
            IdentityReference = identity; FileSystemRights = rights; InheritanceFlags = inheritance; PropagationFlags = propagation; AccessControlType = type;
        }
        public FakeFileSystemAccessRule(FakeSecurityIdentifier identity, FileSystemRights rights, AccessControlType type)
            : this(identity, rights, InheritanceFlags.None, PropagationFlags.None, type) { }
    }

    public class FakeDirectorySecurity
    {
        public bool AreAccessRulesProtected { get; private set; }
        public bool PreserveInheritance { get; private set; }
        public FakeSecurityIdentifier Owner { get; private set; }
        public readonly List<FakeFileSystemAccessRule> Rules = new List<FakeFileSystemAccessRule>();
        public void SetAccessRuleProtection(bool isProtected, bool preserveInheritance) { AreAccessRulesProtected = isProtected; PreserveInheritance = preserveInheritance; }
        public void AddAccessRule(FakeFileSystemAccessRule rule) { Rules.Add(rule); }
        public void SetOwner(FakeSecurityIdentifier owner) { Owner = owner; }
        public Hashtable ToState()
        {
            var m = State.NewMap();
            m["owner"] = Owner == null ? null : Owner.Value;
            m["protected"] = AreAccessRulesProtected;
            m["preserveInheritance"] = PreserveInheritance;
            var rules = new List<object>();
            foreach (var r in Rules)
            {
                var e = State.NewMap();
                e["sid"] = Convert.ToString(r.IdentityReference, CultureInfo.InvariantCulture);
                e["rights"] = r.FileSystemRights.ToString();
                e["inheritance"] = r.InheritanceFlags.ToString();
                e["propagation"] = r.PropagationFlags.ToString();
                e["type"] = r.AccessControlType.ToString();
                rules.Add(e);
            }
            m["rules"] = rules;
            return m;
        }
    }

    /// <summary>System.Security.AccessControl.FileSecurity: the same DACL model, for one file.</summary>
    public class FakeFileSecurity : FakeDirectorySecurity { }

    /// <summary>[System.IO.DriveInfo]: state.drives, each a letter mapped to a real folder.</summary>
    public class FakeDriveInfo
    {
        readonly Hashtable drive;
        FakeDriveInfo(Hashtable drive) { this.drive = drive; }
        public static FakeDriveInfo[] GetDrives()
        {
            var drives = State.Root["drives"] as List<object>;
            if (drives == null) return new FakeDriveInfo[0];
            return drives.OfType<Hashtable>().Select(d => new FakeDriveInfo(d)).ToArray();
        }
        public string Name { get { return State.Str(drive["letter"]) + ":\\"; } }
        public bool IsReady { get { return drive["ready"] == null || State.Bool(drive["ready"]); } }
        public string DriveType { get { return State.Str(drive["type"]) ?? "Fixed"; } }
        public DirectoryInfo RootDirectory
        {
            get
            {
                if (!IsReady) throw new IOException("The device is not ready. : '" + Name + "'");
                var root = State.Str(drive["root"]);
                return new DirectoryInfo(root.EndsWith("/") ? root : root + "/");
            }
        }
        public string VolumeLabel { get { return State.Str(drive["label"]) ?? ""; } }
        public override string ToString() { return Name; }
    }

    /// <summary>[Microsoft.Win32.Registry]: only LocalMachine (HKLM), from state.registry.</summary>
    public static class FakeRegistry
    {
        public static FakeRegistryKey LocalMachine { get { return new FakeRegistryKey("", true); } }
        /// <summary>HKCU: the keys of state.registry under "HKEY_CURRENT_USER\" (the running account's policies).</summary>
        public static FakeRegistryKey CurrentUser { get { return new FakeRegistryKey("HKEY_CURRENT_USER", true); } }
    }

    /// <summary>
    /// state.registry maps a key path under HKLM ("SYSTEM\Setup") to its values, each {"kind": RegistryValueKind
    /// name, "data": string | number | [strings] | base64 for Binary}. A key exists when it or a key below it is listed.
    /// </summary>
    public class FakeRegistryKey : IDisposable
    {
        readonly string path;
        readonly bool writable;
        bool closed;
        public FakeRegistryKey(string path, bool writable) { this.path = path; this.writable = writable; }
        public string Name { get { return path.Length == 0 ? "HKEY_LOCAL_MACHINE" : path.StartsWith("HKEY_CURRENT_USER", StringComparison.OrdinalIgnoreCase) ? path : "HKEY_LOCAL_MACHINE\\" + path; } }
        public override string ToString() { return Name; }

        static Hashtable Keys() { return State.Map(State.Root, "registry"); }
        static string Join(string a, string b)
        {
            b = b.Trim('\\');
            return a.Length == 0 ? b : (b.Length == 0 ? a : a + "\\" + b);
        }
        static bool KeyExists(string full)
        {
            if (full.Length == 0) return true;
            foreach (string k in Keys().Keys)
            {
                if (string.Equals(k, full, StringComparison.OrdinalIgnoreCase) || k.StartsWith(full + "\\", StringComparison.OrdinalIgnoreCase)) return true;
            }
            return false;
        }
        void Check()
        {
            if (closed) throw new ObjectDisposedException("RegistryKey", "Cannot access a closed registry key.");
        }
        static void FaultFor(string operation, string full)
        {
            var f = State.Fault("Registry." + operation);
            if (f == null) return;
            var only = State.Str(f["path"]);
            if (only != null && !string.Equals(only, full, StringComparison.OrdinalIgnoreCase)) return;
            throw new System.Security.SecurityException("Requested registry access is not allowed.");
        }
        Hashtable Values(bool create)
        {
            var keys = Keys();
            foreach (string k in keys.Keys)
            {
                if (string.Equals(k, path, StringComparison.OrdinalIgnoreCase)) return (Hashtable)keys[k];
            }
            if (!create) return null;
            var m = State.NewMap();
            keys[path] = m;
            return m;
        }

        public FakeRegistryKey OpenSubKey(string name) { return OpenSubKey(name, false); }
        public FakeRegistryKey OpenSubKey(string name, bool writable)
        {
            Check();
            var full = Join(path, name);
            FaultFor("OpenSubKey", full);
            return KeyExists(full) ? new FakeRegistryKey(full, writable) : null;
        }
        public FakeRegistryKey CreateSubKey(string name)
        {
            Check();
            var full = Join(path, name);
            FaultFor("CreateSubKey", full);
            var sub = new FakeRegistryKey(full, true);
            sub.Values(true);
            State.Save();
            return sub;
        }
        public string[] GetSubKeyNames()
        {
            Check();
            var names = new List<string>();
            var prefix = path.Length == 0 ? "" : path + "\\";
            foreach (string k in Keys().Keys)
            {
                if (!k.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || k.Length == prefix.Length) continue;
                var rest = k.Substring(prefix.Length).Split('\\')[0];
                if (!names.Contains(rest, StringComparer.OrdinalIgnoreCase)) names.Add(rest);
            }
            return names.ToArray();
        }
        public string[] GetValueNames()
        {
            Check();
            var values = Values(false);
            return values == null ? new string[0] : values.Keys.Cast<string>().ToArray();
        }
        Hashtable Entry(string name)
        {
            var values = Values(false);
            if (values == null) return null;
            return values[name ?? ""] as Hashtable;
        }
        public object GetValue(string name) { return GetValue(name, null, RegistryValueOptions.None); }
        public object GetValue(string name, object defaultValue) { return GetValue(name, defaultValue, RegistryValueOptions.None); }
        public object GetValue(string name, object defaultValue, RegistryValueOptions options)
        {
            Check();
            var e = Entry(name);
            if (e == null) return defaultValue;
            var kind = KindOf(e);
            var data = e["data"];
            switch (kind)
            {
                case RegistryValueKind.DWord: return unchecked((int)Convert.ToInt64(data, CultureInfo.InvariantCulture));
                case RegistryValueKind.QWord: return Convert.ToInt64(data, CultureInfo.InvariantCulture);
                case RegistryValueKind.MultiString: return ((IEnumerable)data ?? new object[0]).Cast<object>().Select(State.Str).ToArray();
                case RegistryValueKind.Binary:
                case RegistryValueKind.None: return data == null ? new byte[0] : Convert.FromBase64String(State.Str(data));
                case RegistryValueKind.ExpandString:
                    var s = State.Str(data) ?? "";
                    return (options & RegistryValueOptions.DoNotExpandEnvironmentNames) != 0 ? s : Environment.ExpandEnvironmentVariables(s);
                default: return State.Str(data) ?? "";
            }
        }
        static RegistryValueKind KindOf(Hashtable e)
        {
            RegistryValueKind kind;
            if (!Enum.TryParse(State.Str(e["kind"]) ?? "String", true, out kind)) kind = RegistryValueKind.String;
            return kind;
        }
        public RegistryValueKind GetValueKind(string name)
        {
            Check();
            var e = Entry(name);
            if (e == null) throw new IOException("The specified registry key does not exist.");
            return KindOf(e);
        }
        public void SetValue(string name, object value)
        {
            RegistryValueKind kind = RegistryValueKind.String;
            if (value is int) kind = RegistryValueKind.DWord;
            else if (value is byte[]) kind = RegistryValueKind.Binary;
            else if (value is string[]) kind = RegistryValueKind.MultiString;
            else if (!(value is string)) throw new ArgumentException("The type of the value object did not match the specified RegistryValueKind or the object could not be properly converted.");
            SetValue(name, value, kind);
        }
        public void SetValue(string name, object value, RegistryValueKind kind)
        {
            Check();
            if (!writable) throw new UnauthorizedAccessException("Cannot write to the registry key.");
            FaultFor("SetValue", path);
            if (value == null) throw new ArgumentNullException("value");
            var e = State.NewMap();
            e["kind"] = kind.ToString();
            switch (kind)
            {
                case RegistryValueKind.DWord: e["data"] = (long)Convert.ToInt32(value, CultureInfo.InvariantCulture); break;
                case RegistryValueKind.QWord: e["data"] = Convert.ToInt64(value, CultureInfo.InvariantCulture); break;
                case RegistryValueKind.Binary: e["data"] = Convert.ToBase64String((byte[])value); break;
                case RegistryValueKind.MultiString: e["data"] = ((IEnumerable)value).Cast<object>().Select(State.Str).Cast<object>().ToList(); break;
                case RegistryValueKind.String:
                case RegistryValueKind.ExpandString:
                    if (!(value is string)) throw new ArgumentException("The type of the value object did not match the specified RegistryValueKind or the object could not be properly converted.");
                    e["data"] = value; break;
                default: e["data"] = State.Str(value); break;
            }
            Values(true)[name ?? ""] = e;
            State.Save();
        }
        public void DeleteValue(string name, bool throwOnMissingValue)
        {
            Check();
            var values = Values(false);
            if (values == null || !values.ContainsKey(name)) { if (throwOnMissingValue) throw new ArgumentException("No value exists with that name."); return; }
            values.Remove(name);
            State.Save();
        }
        public void Close() { closed = true; }
        public void Dispose() { closed = true; }
    }

    /// <summary>
    /// [System.Diagnostics.EventLog] (static members): state.eventLog.sources maps a log to its sources,
    /// state.eventLog.entries lists what was written.
    /// </summary>
    public static class FakeEventLog
    {
        static Hashtable Log() { return State.Map(State.Root, "eventLog"); }
        static Hashtable Sources() { return State.Map(Log(), "sources"); }

        public static string LogNameFromSourceName(string source, string machineName)
        {
            foreach (DictionaryEntry de in Sources())
            {
                foreach (var s in ((IEnumerable)de.Value).Cast<object>())
                {
                    if (string.Equals(State.Str(s), source, StringComparison.OrdinalIgnoreCase)) return (string)de.Key;
                }
            }
            return "";
        }
        public static bool SourceExists(string source) { return SourceExists(source, "."); }
        public static bool SourceExists(string source, string machineName)
        {
            var f = State.Fault("EventLog.SourceExists");
            if (f != null) throw new System.Security.SecurityException("The source was not found, but some or all event logs could not be searched.  Inaccessible logs: Security.");
            return LogNameFromSourceName(source, machineName).Length > 0;
        }
        public static void CreateEventSource(string source, string logName) { CreateEventSource(new FakeEventSourceCreationData(source, logName)); }
        public static void CreateEventSource(FakeEventSourceCreationData data)
        {
            var f = State.Fault("EventLog.CreateEventSource");
            if (f != null) throw new System.Security.SecurityException("Requested registry access is not allowed.");
            if (SourceExists(data.Source)) throw new ArgumentException("Source " + data.Source + " already exists on the local computer.");
            var log = string.IsNullOrEmpty(data.LogName) ? "Application" : data.LogName;
            State.List(Sources(), log).Add(data.Source);
            // What EventLogInstaller writes: the source's key with the default message file.
            var key = new FakeRegistryKey("", true).CreateSubKey("SYSTEM\\CurrentControlSet\\Services\\EventLog\\" + log + "\\" + data.Source);
            key.SetValue("EventMessageFile", "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\EventLogMessages.dll", RegistryValueKind.String);
            State.Save();
        }
        public static void WriteEntry(string source, string message, System.Diagnostics.EventLogEntryType type, int eventId)
        {
            var f = State.Fault("EventLog.WriteEntry");
            if (f != null) throw new InvalidOperationException("Cannot open log for source '" + source + "'. You may not have write access.", new System.ComponentModel.Win32Exception(5, "Access is denied"));
            if (eventId < 0 || eventId > 65535) throw new ArgumentException("Invalid eventID value '" + eventId + "'. It must be in the range between '0' and '65535'.");
            if (message != null && message.Length > 31839) throw new ArgumentException("Log entry string is too long. A string written to the event log cannot exceed 32766 characters.");
            var log = LogNameFromSourceName(source, ".");
            if (log.Length == 0) { CreateEventSource(source, "Application"); log = "Application"; }
            var entries = State.List(Log(), "entries");
            var e = State.NewMap();
            e["log"] = log;
            e["source"] = source;
            e["id"] = (long)eventId;
            e["entryType"] = type.ToString();
            e["level"] = (long)(type == System.Diagnostics.EventLogEntryType.Error ? 2 : type == System.Diagnostics.EventLogEntryType.Warning ? 3 : 4);
            e["message"] = message ?? "";
            e["timeCreated"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);
            e["recordId"] = (long)(entries.Count + 1);
            entries.Add(e);
            State.Save();
        }
    }

    /// <summary>EventSourceCreationData (its constructor throws on Linux).</summary>
    public class FakeEventSourceCreationData
    {
        public string Source { get; set; }
        public string LogName { get; set; }
        public string MachineName { get; set; }
        public string MessageResourceFile { get; set; }
        public FakeEventSourceCreationData(string source, string logName) { Source = source; LogName = logName; MachineName = "."; }
    }

    /// <summary>
    /// X509Store on LocalMachine: state.certificates maps a store name to a list of
    /// {thumbprint, subject, hasPrivateKey, data: base64 of the PFX (with key) or DER}.
    /// </summary>
    public class FakeX509Store : IDisposable
    {
        public string Name { get; private set; }
        public StoreLocation Location { get; private set; }
        OpenFlags? flags;
        public FakeX509Store(string storeName, StoreLocation storeLocation)
        {
            if (storeLocation != StoreLocation.LocalMachine) throw new NotSupportedException("the emulation has only LocalMachine stores");
            Name = storeName; Location = storeLocation;
        }
        public FakeX509Store(StoreName storeName, StoreLocation storeLocation) : this(storeName == StoreName.CertificateAuthority ? "CA" : storeName == StoreName.AddressBook ? "AddressBook" : storeName.ToString(), storeLocation) { }

        static List<object> StoreList(string name, bool create)
        {
            var stores = State.Map(State.Root, "certificates");
            foreach (string k in stores.Keys) if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) return (List<object>)stores[k];
            if (!create) return null;
            var l = new List<object>();
            stores[name] = l;
            return l;
        }
        public void Open(OpenFlags openFlags)
        {
            var f = State.Fault("X509Store.Open");
            if (f != null) throw Errors.HResult(new CryptographicException("Access is denied."), unchecked((int)0x80070005));
            var existing = StoreList(Name, false);
            if (existing == null)
            {
                if ((openFlags & OpenFlags.OpenExistingOnly) != 0) throw Errors.HResult(new CryptographicException("The system cannot find the file specified."), unchecked((int)0x80070002));
                // CertOpenStore creates a missing system store on open (ReadOnly too, for LocalMachine as SYSTEM).
                StoreList(Name, true);
                State.Save();
            }
            flags = openFlags;
        }
        public void Close() { flags = null; }
        public void Dispose() { flags = null; }
        void CheckOpen()
        {
            if (flags == null) throw new CryptographicException("The X509 certificate store has not been opened.");
        }
        public X509Certificate2Collection Certificates
        {
            get
            {
                var c = new X509Certificate2Collection();
                if (flags == null) return c;
                foreach (var e in StoreList(Name, true).OfType<Hashtable>()) c.Add(FromState(e));
                return c;
            }
        }
        public static X509Certificate2 FromState(Hashtable e)
        {
            var bytes = Convert.FromBase64String(State.Str(e["data"]));
            if (State.Bool(e["hasPrivateKey"])) return X509CertificateLoader.LoadPkcs12(bytes, null, X509KeyStorageFlags.Exportable);
            return X509CertificateLoader.LoadCertificate(bytes);
        }
        public static Hashtable ToState(X509Certificate2 certificate)
        {
            var e = State.NewMap();
            e["thumbprint"] = certificate.Thumbprint;
            e["subject"] = certificate.Subject;
            e["hasPrivateKey"] = certificate.HasPrivateKey;
            e["data"] = Convert.ToBase64String(certificate.HasPrivateKey ? certificate.Export(X509ContentType.Pkcs12) : certificate.RawData);
            return e;
        }
        public void Add(X509Certificate2 certificate)
        {
            CheckOpen();
            if (certificate == null) throw new ArgumentNullException("certificate");
            var f = State.Fault("X509Store.Add");
            if (f != null || (flags.Value & (OpenFlags.ReadWrite | OpenFlags.MaxAllowed)) == 0)
                throw Errors.HResult(new CryptographicException("Access is denied."), unchecked((int)0x80070005));
            var list = StoreList(Name, true);
            // CertAddCertificateContextToStore with CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES: an
            // existing certificate with the same thumbprint is replaced, never duplicated.
            list.RemoveAll(o => o is Hashtable && string.Equals(State.Str(((Hashtable)o)["thumbprint"]), certificate.Thumbprint, StringComparison.OrdinalIgnoreCase));
            list.Add(ToState(certificate));
            // A certificate added with its private key persists the key in a container of its own
            // (MachineKeys for LocalMachine): state.machineKeys holds their public keys. Remove leaves it.
            if (certificate.HasPrivateKey)
            {
                var keys = State.List(State.Root, "machineKeys");
                var publicKey = certificate.GetPublicKeyString();
                if (!keys.Contains(publicKey)) keys.Add(publicKey);
            }
            State.Save();
        }
        public void Remove(X509Certificate2 certificate)
        {
            CheckOpen();
            StoreList(Name, true).RemoveAll(o => o is Hashtable && string.Equals(State.Str(((Hashtable)o)["thumbprint"]), certificate.Thumbprint, StringComparison.OrdinalIgnoreCase));
            State.Save();
        }
    }

    public enum FakeContextType { Machine = 0, Domain = 1, ApplicationDirectory = 2 }
    public enum FakeIdentityType { SamAccountName = 0, Name = 1, UserPrincipalName = 2, DistinguishedName = 3, Sid = 4, Guid = 5 }

    public class FakePrincipalContext : IDisposable
    {
        public FakeContextType ContextType { get; private set; }
        public FakePrincipalContext(FakeContextType contextType)
        {
            if (contextType != FakeContextType.Machine) throw new NotSupportedException("the emulation has only the machine context");
            ContextType = contextType;
        }
        public void Dispose() { }
    }

    /// <summary>UserPrincipal over state.users (found by SID or name).</summary>
    public class FakeUserPrincipal : IDisposable
    {
        readonly Hashtable user;
        FakeUserPrincipal(Hashtable user) { this.user = user; }
        public static FakeUserPrincipal FindByIdentity(FakePrincipalContext context, FakeIdentityType identityType, string identityValue)
        {
            var users = State.Root["users"] as List<object>;
            if (users == null) return null;
            foreach (var u in users.OfType<Hashtable>())
            {
                var key = identityType == FakeIdentityType.Sid ? "sid" : "name";
                if (string.Equals(State.Str(u[key]), identityValue, StringComparison.OrdinalIgnoreCase)) return new FakeUserPrincipal(u);
            }
            return null;
        }
        public string Name { get { return State.Str(user["name"]); } }
        public string Sid { get { return State.Str(user["sid"]); } }
        public void ExpirePasswordNow()
        {
            var f = State.Fault("UserPrincipal.ExpirePasswordNow");
            if (f != null) throw new UnauthorizedAccessException("Access is denied.");
            user["passwordExpired"] = true;
            State.Save();
        }
        public void Dispose() { }
    }

    /// <summary>Microsoft.PowerShell.Commands.LocalPrincipal / LocalUser / LocalGroup as the LocalAccounts cmdlets return them.</summary>
    public class LocalPrincipal
    {
        public string Name { get; set; }
        public FakeSecurityIdentifier SID { get; set; }
        public string PrincipalSource { get; set; }
        public string ObjectClass { get; set; }
        public LocalPrincipal() { PrincipalSource = "Local"; }
        public LocalPrincipal(string name) : this() { Name = name; }
        public override string ToString() { return Name ?? (SID == null ? "" : SID.Value); }
    }

    public class LocalUser : LocalPrincipal
    {
        public bool Enabled { get; set; }
        public string Description { get; set; }
        public string FullName { get; set; }
        public DateTime? AccountExpires { get; set; }
        public DateTime? PasswordExpires { get; set; }
        public DateTime? PasswordLastSet { get; set; }
        public bool PasswordRequired { get; set; }
        public bool UserMayChangePassword { get; set; }
        public DateTime? LastLogon { get; set; }
        public LocalUser() { ObjectClass = "User"; }
        public LocalUser(string name) : this() { Name = name; }
    }

    public class LocalGroup : LocalPrincipal
    {
        public string Description { get; set; }
        public LocalGroup() { ObjectClass = "Group"; }
        public LocalGroup(string name) : this() { Name = name; }
    }

    /// <summary>ServiceController as Get-Service returns it; Refresh() reads the state again.</summary>
    public class ServiceController
    {
        public string Name { get; private set; }
        public string ServiceName { get { return Name; } }
        public string DisplayName { get; private set; }
        public System.ServiceProcess.ServiceControllerStatus Status { get; private set; }
        public System.ServiceProcess.ServiceStartMode StartType { get; private set; }
        public ServiceController(Hashtable service) { Name = State.Str(service["name"]); Load(service); }
        void Load(Hashtable s)
        {
            DisplayName = State.Str(s["displayName"]) ?? Name;
            System.ServiceProcess.ServiceControllerStatus status;
            Status = Enum.TryParse(State.Str(s["status"]) ?? "Stopped", true, out status) ? status : System.ServiceProcess.ServiceControllerStatus.Stopped;
            System.ServiceProcess.ServiceStartMode mode;
            StartType = Enum.TryParse(State.Str(s["startType"]) ?? "Manual", true, out mode) ? mode : System.ServiceProcess.ServiceStartMode.Manual;
        }
        public static Hashtable Find(string name)
        {
            var services = State.Root["services"] as List<object>;
            if (services == null) return null;
            return services.OfType<Hashtable>().FirstOrDefault(s => string.Equals(State.Str(s["name"]), name, StringComparison.OrdinalIgnoreCase));
        }
        public void Refresh()
        {
            var s = Find(Name);
            if (s == null) throw new InvalidOperationException("Service " + Name + " was not found on computer '.'.");
            Load(s);
        }
        public override string ToString() { return "System.ServiceProcess.ServiceController"; }
    }
}

namespace Microsoft.PowerShell.Commands
{
    /// <summary>The LocalAccounts module's exceptions (Windows only), with their names and categories.</summary>
    public class LocalAccountsException : Exception
    {
        public ErrorCategory ErrorCategory { get; private set; }
        public object Target { get; private set; }
        public LocalAccountsException(string message, object target, ErrorCategory category) : base(message) { Target = target; ErrorCategory = category; }
    }
    public class InvalidPasswordException : LocalAccountsException
    {
        public InvalidPasswordException() : base("The password does not meet the password policy requirements. Check the minimum password length, password complexity and password history requirements.", null, ErrorCategory.InvalidArgument) { }
    }
    public class InvalidNameException : LocalAccountsException
    {
        public InvalidNameException(string name) : base("The name " + name + " is invalid.", name, ErrorCategory.InvalidArgument) { }
    }
    public class NameInUseException : LocalAccountsException
    {
        public NameInUseException(string name) : base("The name " + name + " is already in use.", name, ErrorCategory.ResourceExists) { }
    }
    public class UserExistsException : LocalAccountsException
    {
        public UserExistsException(string name) : base("User " + name + " already exists.", name, ErrorCategory.ResourceExists) { }
    }
    public class UserNotFoundException : LocalAccountsException
    {
        public UserNotFoundException(string name) : base("User " + name + " was not found.", name, ErrorCategory.ObjectNotFound) { }
    }
    public class GroupNotFoundException : LocalAccountsException
    {
        public GroupNotFoundException(string name) : base("Group " + name + " was not found.", name, ErrorCategory.ObjectNotFound) { }
    }
    public class MemberExistsException : LocalAccountsException
    {
        public MemberExistsException(string member, string group) : base(member + " is already a member of group " + group + ".", member, ErrorCategory.ResourceExists) { }
    }
    public class PrincipalNotFoundException : LocalAccountsException
    {
        public PrincipalNotFoundException(string name) : base("Principal " + name + " was not found.", name, ErrorCategory.ObjectNotFound) { }
    }
    public class AccessDeniedException : LocalAccountsException
    {
        public AccessDeniedException(object target) : base("Access denied.", target, ErrorCategory.PermissionDenied) { }
    }
}
