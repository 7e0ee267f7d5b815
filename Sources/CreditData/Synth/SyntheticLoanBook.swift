import CreditCore
import CreditDomain
import Foundation


/// A cell of a raw (dump-shaped) table: what a MySQL column would hold.
public enum RawCell: Sendable, Equatable {
    case null
    case int(Int)
    case double(Double)
    case text(String)
}

/// A table shaped like one of the real dumps: MySQL column types and raw cells.
public struct RawTable: Sendable {
    public var name: String
    public var columns: [(name: String, mysqlType: String)]
    public var rows: [[RawCell]]
}

/// A synthetic loan book with the same four tables (and columns) as the alura-cash dumps:
/// `dados_mutuarios` (borrowers), `emprestimos` (loans), `historicos_banco` (bureau) and
/// `ids` (the link table), so `examples/alura-cash/join.sql` works on it unchanged.
///
/// Fields are correlated the way a loan book is: income grows with age and employment
/// length, the interest rate follows the grade, the default probability is a logistic
/// function of loan-to-income, grade, home ownership, previous default, purpose and income
/// (about 22% default). It carries the same kinds of dirt: NULLs and empty strings, typos
/// ("rent ", "RENT", "Rnet", "Homeimprovment", "Mortage"), a value that matches nothing,
/// outliers (age 144, employment 123 years, income 6,000,000), an `ids` row with an empty
/// person id, and missing outcomes. Same rows and seed → same tables, same bytes.
public struct SyntheticLoanBook: Sendable {
    public var borrowers: RawTable
    public var loans: RawTable
    public var bureau: RawTable
    public var ids: RawTable

    public var tables: [RawTable] { [borrowers, loans, bureau, ids] }

    static let homeValues = ["Rent", "Mortgage", "Own", "Other"]
    static let homeTypos: [String: [String]] = [
        "Rent": ["rent ", "RENT", "Rnet", " Rent"], "Mortgage": ["mortgage", "Mortage", "MORTGAGE"],
        "Own": ["own", "OWN "], "Other": ["other"],
    ]
    static let intents = ["Debtconsolidation", "Education", "Homeimprovement", "Medical", "Personal", "Venture"]
    static let intentTypos: [String: [String]] = [
        "Debtconsolidation": ["Debtconsolidaton", "debt consolidation"],
        "Education": ["Educaton", "education"],
        "Homeimprovement": ["Homeimprovment", "home improvement", "HOMEIMPROVEMENT"],
        "Medical": ["Medcal", "medical"], "Personal": ["personal", "Persnal"], "Venture": ["Ventrue", "venture"],
    ]
    static let grades = ["A", "B", "C", "D", "E", "F", "G"]

    public static func generate(rows: Int, seed: UInt64) -> SyntheticLoanBook {
        precondition(rows >= 0, "rows must be >= 0")
        var rng = SplitMix64(seed: seed)
        var borrowers: [[RawCell]] = [], loans: [[RawCell]] = [], bureau: [[RawCell]] = [], links: [[RawCell]] = []
        borrowers.reserveCapacity(rows); loans.reserveCapacity(rows); bureau.reserveCapacity(rows)
        links.reserveCapacity(rows)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        func makeID() -> String {
            var s = ""
            for k in 0..<13 { s.append(k == 8 ? "-" : alphabet[Int(rng.next() % 62)]) }
            return s
        }
        func text(_ value: String, empty: Double, null: Double = 0, typos: [String]? = nil,
                  typo: Double = 0) -> RawCell {
            let u = rng.uniform()
            if u < null { return .null }
            if u < null + empty { return .text("") }
            if let typos, u < null + empty + typo { return .text(rng.pick(typos)) }
            return .text(value)
        }
        func number(_ value: RawCell, null: Double) -> RawCell { rng.chance(null) ? .null : value }

        let gradeWeights = [0.33, 0.32, 0.20, 0.11, 0.03, 0.007, 0.003]
        let gradeRate = [7.3, 11.0, 13.5, 15.4, 17.0, 18.6, 20.2]
        let gradeEffect = [0.0, 0.3, 0.6, 2.3, 2.5, 2.9, 3.5]
        let homeEffect: [String: Double] = ["Rent": 0.7, "Own": -1.4, "Mortgage": 0.0, "Other": 0.5]
        let intentEffect = [0.35, -0.35, 0.35, 0.3, -0.1, -0.5]
        let emptyPersonRow = rows >= 100 ? rows / 2 : -1

        for r in 0..<rows {
            // Borrower.
            var age = 20 + Int(abs(rng.normal()) * 3.5 + rng.exponential(mean: 4.5))
            age = min(age, 84)
            let empLength = Double(max(0, min(age - 17, Int(rng.exponential(mean: 4.8)))))
            let logIncome = 10.8 + 0.012 * Double(age - 27) + 0.025 * empLength + 0.55 * rng.normal()
            let income = max(4000, Int((exp(logIncome) / 100).rounded()) * 100)
            let pMortgage = min(0.7, max(0.05, 0.2 + 0.35 * (log(Double(income)) - 10.5)))
            let home = homeValues[rng.pick(weights: [max(0.05, 1 - pMortgage - 0.09), pMortgage, 0.085, 0.005])]
            // Loan.
            let intentIndex = rng.pick(weights: [0.16, 0.20, 0.11, 0.18, 0.17, 0.17])
            let grade = rng.pick(weights: gradeWeights)
            let rate = (min(23.22, max(5.42, gradeRate[grade] + rng.normal())) * 100).rounded() / 100
            var amount = Int((exp(8.85 + 0.6 * rng.normal()) / 25).rounded()) * 25
            amount = min(35000, max(500, min(amount, Int(Double(income) * 0.8))))
            let percent = (Double(amount) / Double(income) * 100).rounded() / 100
            // Bureau.
            let defaultOnFile = rng.chance(grade >= 2 ? 0.38 : 0.05) ? "Y" : "N"
            let history = min(30, max(2, 2 + Int(Double(age - 20) * 0.6 + rng.exponential(mean: 1.5))))
            // Outcome.
            var z = -2.72 + 8 * (percent - 0.17) + gradeEffect[grade] + homeEffect[home]!
            z += (defaultOnFile == "Y" ? 0.15 : 0) + intentEffect[intentIndex] - 0.3 * (log(Double(income)) - 10.9)
            let status = rng.uniform() < 1 / (1 + exp(-z)) ? 1 : 0

            // Dirt.
            var ageCell: RawCell = number(.int(age), null: 0.009)
            if rng.chance(0.0008) { ageCell = .int(rng.pick([123, 144, 144])) }
            var incomeCell: RawCell = number(.int(income), null: 0.01)
            if rng.chance(0.0004) { incomeCell = .int(6_000_000) }
            var empCell: RawCell = number(.double(empLength), null: 0.035)
            if rng.chance(0.0006) { empCell = .double(123) }
            var homeCell = text(home, empty: 0.01, typos: homeTypos[home], typo: 0.012)
            if rng.chance(0.001) { homeCell = .text(rng.pick(["Boat", "Caravan", "Parents"])) }
            let personID = makeID(), loanID = makeID(), cbID = makeID()
            borrowers.append([.text(personID), ageCell, incomeCell, homeCell, empCell])
            loans.append([
                .text(loanID),
                text(intents[intentIndex], empty: 0.009, typos: intentTypos[intents[intentIndex]], typo: 0.015),
                text(grade == 1 && rng.chance(0.004) ? "b" : grades[grade], empty: 0.009),
                number(.int(amount), null: 0.008),
                number(.double(rate), null: 0.035),
                number(.int(status), null: 0.01),
                number(.double(percent), null: 0.008),
            ])
            bureau.append([
                .text(cbID),
                text(rng.chance(0.004) ? defaultOnFile.lowercased() : defaultOnFile, empty: 0.01),
                number(.int(history), null: 0.008),
            ])
            links.append([.text(r == emptyPersonRow ? "" : personID), .text(loanID), .text(cbID)])
        }
        // The source tables are not stored in link order.
        rng.shuffleInPlace(&borrowers)
        rng.shuffleInPlace(&loans)
        rng.shuffleInPlace(&bureau)
        return SyntheticLoanBook(
            borrowers: RawTable(name: "dados_mutuarios", columns: [
                ("person_id", "varchar(16)"), ("person_age", "int"), ("person_income", "int"),
                ("person_home_ownership", "varchar(8)"), ("person_emp_length", "double"),
            ], rows: borrowers),
            loans: RawTable(name: "emprestimos", columns: [
                ("loan_id", "varchar(16)"), ("loan_intent", "varchar(32)"), ("loan_grade", "varchar(1)"),
                ("loan_amnt", "int"), ("loan_int_rate", "double"), ("loan_status", "int"),
                ("loan_percent_income", "double"),
            ], rows: loans),
            bureau: RawTable(name: "historicos_banco", columns: [
                ("cb_id", "varchar(16)"), ("cb_person_default_on_file", "varchar(1)"),
                ("cb_person_cred_hist_length", "int"),
            ], rows: bureau),
            ids: RawTable(name: "ids", columns: [
                ("person_id", "varchar(16)"), ("loan_id", "varchar(16)"), ("cb_id", "varchar(16)"),
            ], rows: links)
        )
    }

    /// The book joined as `examples/alura-cash/join.sql` joins it (inner join on non-empty
    /// ids), in link order, with the query's columns. Empty strings become missing.
    public func joined() -> DataTable {
        func index(_ t: RawTable) -> [String: Int] {
            var d: [String: Int] = [:]
            for (i, row) in t.rows.enumerated() { if case .text(let id) = row[0], !id.isEmpty { d[id] = i } }
            return d
        }
        let b = index(borrowers), l = index(loans), h = index(bureau)
        let names = ["loan_id", "person_age", "person_income", "person_home_ownership", "person_emp_length",
                     "loan_intent", "loan_grade", "loan_amnt", "loan_int_rate", "loan_status",
                     "loan_percent_income", "cb_person_default_on_file", "cb_person_cred_hist_length"]
        var cells: [[RawCell]] = []
        for link in ids.rows {
            guard case .text(let p) = link[0], case .text(let lo) = link[1], case .text(let c) = link[2],
                  let bi = b[p], let li = l[lo], let hi = h[c] else { continue }
            let br = borrowers.rows[bi], lr = loans.rows[li], hr = bureau.rows[hi]
            cells.append([lr[0], br[1], br[2], br[3], br[4], lr[1], lr[2], lr[3], lr[4], lr[5], lr[6], hr[1], hr[2]])
        }
        var table = DataTable()
        for (j, name) in names.enumerated() {
            let isText = [0, 3, 5, 6, 11].contains(j)
            if isText {
                table.append(.categorical(name, cells.map {
                    if case .text(let s) = $0[j], !MissingValues.isMissing(s) { return s }
                    return nil
                }))
            } else {
                table.append(.numeric(name, cells.map {
                    switch $0[j] {
                    case .int(let i): return Double(i)
                    case .double(let d): return d
                    default: return nil
                    }
                }))
            }
        }
        return table
    }

    // MARK: writing

    /// Writes the four tables as one `mysqldump`-style file (MySQL 8 layout: directives,
    /// DROP/CREATE TABLE, LOCK TABLES, multi-row INSERTs of 1,000 rows, trailer).
    public func writeMySQLDump(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw DataSourceError.failed(source: "mysqldump:\(path)", message: "cannot open for writing")
        }
        defer { try? handle.close() }
        func emit(_ s: String) throws { try handle.write(contentsOf: Data(s.utf8)) }
        try emit("""
        -- MySQL dump 10.13  Distrib 8.0.30 (credit synth)
        --
        -- Host: localhost    Database: analise_risco
        -- ------------------------------------------------------
        -- Server version\t8.0.30

        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /*!50503 SET NAMES utf8mb4 */;
        /*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
        /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;

        use analise_risco;

        """)
        for table in tables {
            var s = """

            --
            -- Table structure for table `\(table.name)`
            --

            DROP TABLE IF EXISTS `\(table.name)`;
            /*!40101 SET @saved_cs_client     = @@character_set_client */;
            CREATE TABLE `\(table.name)` (

            """
            s += table.columns.map { "  `\($0.name)` \($0.mysqlType) DEFAULT NULL" }.joined(separator: ",\n")
            s += "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;\n"
            s += "/*!40101 SET character_set_client = @saved_cs_client */;\n\n"
            s += "--\n-- Dumping data for table `\(table.name)`\n--\n\n"
            s += "LOCK TABLES `\(table.name)` WRITE;\n"
            s += "/*!40000 ALTER TABLE `\(table.name)` DISABLE KEYS */;\n"
            try emit(s)
            var start = 0
            while start < table.rows.count {
                let end = min(table.rows.count, start + 1000)
                var line = "INSERT INTO `\(table.name)` VALUES "
                for r in start..<end {
                    if r > start { line += "," }
                    line += "(" + table.rows[r].map(Self.sqlLiteral).joined(separator: ",") + ")"
                }
                line += ";\n"
                try emit(line)
                start = end
            }
            try emit("/*!40000 ALTER TABLE `\(table.name)` ENABLE KEYS */;\nUNLOCK TABLES;\n")
        }
        try emit("""

        /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
        /*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
        /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

        -- Dump completed

        """)
    }

    /// A MySQL literal: NULL, a number, or a single-quoted string with backslash escapes.
    static func sqlLiteral(_ cell: RawCell) -> String {
        switch cell {
        case .null: return "NULL"
        case .int(let i): return String(i)
        case .double(let d): return formatNumber(d)
        case .text(let s):
            var out = "'"
            for ch in s.unicodeScalars {
                switch ch {
                case "'": out += "\\'"
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\0": out += "\\0"
                default: out.unicodeScalars.append(ch)
                }
            }
            return out + "'"
        }
    }

    /// Writes the book to `sqlite:PATH` (the four tables, replacing them; made by restoring
    /// the mysqldump form, so both forms hold the same data), `mysqldump:PATH` (the four
    /// tables as one dump file) or `csv:PATH` (the joined book, one row per loan that joins).
    /// Returns the rows of the form written: loans for the tables, joined rows for CSV (one
    /// fewer from 100 loans on: one `ids` row has an empty person id, so the join drops it).
    @discardableResult
    public func write(to location: String) throws -> Int {
        switch DataSources.scheme(of: location) {
        case "mysqldump":
            try writeMySQLDump(to: try DataSources.path(of: location))
        case "sqlite":
            let path = try DataSources.path(of: location)
            let dump = FileManager.default.temporaryDirectory
                .appendingPathComponent("credit-synth-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64(Date().timeIntervalSince1970 * 1e6)).sql").path
            defer { try? FileManager.default.removeItem(atPath: dump) }
            try writeMySQLDump(to: dump)
            _ = try DumpRestorer(replace: true).restore(files: [dump], into: path)
        case "csv":
            let table = joined()
            try DataSources.sink(location).write(table)
            return table.rowCount
        default:
            throw DataSourceError.unknownScheme(location: location, known: ["sqlite", "csv", "mysqldump"])
        }
        return loans.rows.count
    }
}
