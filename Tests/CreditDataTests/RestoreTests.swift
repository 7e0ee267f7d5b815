import CreditDomain
import Foundation
import Testing
@testable import CreditData

@Suite struct RestoreTests {
    /// A dump in mysqldump's layout with every construct the restorer must understand.
    static let dump = """
    -- MySQL dump 10.13  Distrib 8.0.30, for Linux (x86_64)
    --
    -- Host: localhost    Database: shop
    /*create database shop default character set utf8mb3;*/
    use shop;
    /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
    /*!50503 SET NAMES utf8mb4 */;
    # a hash comment
    DROP TABLE IF EXISTS `people`;
    /*!40101 SET @saved_cs_client     = @@character_set_client */;
    CREATE TABLE `people` (
      `id` int NOT NULL AUTO_INCREMENT,
      `name` varchar(32) DEFAULT NULL,
      `score` double DEFAULT NULL,
      `amount` decimal(10,2) DEFAULT '0.00',
      `note` text,
      `born` date DEFAULT NULL,
      PRIMARY KEY (`id`),
      KEY `idx_name` (`name`)
    ) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
    /*!40101 SET character_set_client = @saved_cs_client */;

    LOCK TABLES `people` WRITE;
    /*!40000 ALTER TABLE `people` DISABLE KEYS */;
    INSERT INTO `people` VALUES (1,'O\\'Brien',1.5,-3.25,'line1\\nline2','2020-01-02'),(2,'it''s',NULL,0.00,'back\\\\slash \\"q\\"',NULL),(3,'',-2,1e3,'semi;colon (paren), comma',NULL);
    INSERT INTO `people` (`id`, `name`) VALUES (4,'Zoë');
    /*!40000 ALTER TABLE `people` ENABLE KEYS */;
    UNLOCK TABLES;
    /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

    -- Dump completed on 2023-01-12 17:20:00

    """

    func write(_ text: String, to dir: URL, name: String = "dump.sql") throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func restoresMySQLDumpConstructs() throws {
        let dir = try TestPaths.tempDir()
        let file = try write(Self.dump, to: dir)
        let db = dir.appendingPathComponent("t.db").path
        let summary = try DumpRestorer().restore(files: [file], into: db)
        #expect(summary.rows(in: "people") == 4)
        let columns = try #require(summary.tables.first).columns
        #expect(columns.map(\.name) == ["id", "name", "score", "amount", "note", "born"])
        #expect(columns.map(\.affinity) == ["INTEGER", "TEXT", "REAL", "REAL", "TEXT", "TEXT"])

        let t = try SQLiteSource(path: db, kinds: ColumnKinds(forced: ["name": .categorical]))
            .read(query: "SELECT id, name, score, amount, note, born FROM people ORDER BY id")
        #expect(t.column(named: "id")?.numericValues == [1, 2, 3, 4])
        // '' is missing in a DataTable; the database keeps the empty string.
        #expect(t.column(named: "name")?.categoricalValues == ["O'Brien", "it's", nil, "Zoë"])
        #expect(t.column(named: "score")?.numericValues == [1.5, nil, -2, nil])
        #expect(t.column(named: "amount")?.numericValues == [-3.25, 0, 1000, nil])
        #expect(t.column(named: "note")?.categoricalValues == [
            "line1\nline2", "back\\slash \"q\"", "semi;colon (paren), comma", nil,
        ])
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM people WHERE name = ''") == 1)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM people WHERE score IS NULL") == 2)
        #expect(try sqlScalar(db, "SELECT typeof(amount) = 'real' FROM people WHERE id = 2") == 1)
    }

    @Test func secondRestoreIsRefusedUnlessReplace() throws {
        let dir = try TestPaths.tempDir()
        let file = try write(Self.dump, to: dir)
        let db = dir.appendingPathComponent("t.db").path
        _ = try DumpRestorer().restore(files: [file], into: db)
        let error = #expect(throws: DumpRestoreError.self) {
            try DumpRestorer().restore(files: [file], into: db)
        }
        #expect(error?.file == file)
        #expect(error?.line == 9) // the DROP TABLE of an existing table
        #expect(error?.description.contains("table 'people' already exists") == true)
        #expect(error?.description.contains("--replace") == true)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM people") == 4)

        // --replace: the tables are replaced, not appended to.
        let summary = try DumpRestorer(replace: true).restore(files: [file], into: db)
        #expect(summary.rows(in: "people") == 4)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM people") == 4)
    }

    @Test func truncatedDumpFailsWithFileAndLineAndLeavesDatabaseAsItWas() throws {
        let dir = try TestPaths.tempDir()
        let good = try write(Self.dump, to: dir)
        let db = dir.appendingPathComponent("t.db").path
        _ = try DumpRestorer().restore(files: [good], into: db)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))

        // A second dump for a new table, cut in the middle of its INSERT (line 6).
        let other = """
        CREATE TABLE `loans` (`id` int, `amount` int);
        INSERT INTO `loans` VALUES (1,100),(2,200);
        INSERT INTO `loans` VALUES (3,300),
        (4,400),
        (5,
        """
        let truncated = try write(other, to: dir, name: "truncated.sql")
        let error = #expect(throws: DumpRestoreError.self) {
            try DumpRestorer().restore(files: [truncated], into: db)
        }
        #expect(error?.file == truncated)
        #expect(error?.line == 5)
        #expect(error?.message.contains("unexpected end of file") == true)
        #expect(error?.message.contains("expected a value") == true)
        // One transaction: the first INSERT and the CREATE TABLE are rolled back too.
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'loans'") == 0)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM people") == 4)
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)

        // Truncated inside a string literal: the error names the line where the string began.
        let cutString = try write("CREATE TABLE t (a text);\nINSERT INTO t VALUES ('ok'),\n('never clo", to: dir,
                                  name: "cut-string.sql")
        let fresh = dir.appendingPathComponent("fresh.db").path
        let e2 = #expect(throws: DumpRestoreError.self) {
            try DumpRestorer().restore(files: [cutString], into: fresh)
        }
        #expect(e2?.message.contains("unterminated string literal (started on line 3)") == true)
        // A database file that did not exist before is not left behind.
        #expect(!FileManager.default.fileExists(atPath: fresh))
    }

    @Test func malformedStatementNamesFileLineAndExpectation() throws {
        let dir = try TestPaths.tempDir()
        let db = dir.appendingPathComponent("t.db").path
        let cases: [(String, Int, String)] = [
            ("CREATE TABLE t (a int, b text);\nINSERT INTO t VALUES (1,'x')\n(2,'y');\n", 3,
             "expected ',' or ';' after a row of INSERT INTO t"),
            ("CREATE TABLE t (a int, b text);\n\nINSERT INTO t VALUES (1,'x'),(2);\n", 3,
             "has 1 values; expected 2"),
            ("CREATE TABLE t (a int, b text);\nINSERT INTO t VALUES (1,'x' 'y');\n", 2,
             "expected ',' or ')' in a row of INSERT INTO t"),
            ("CREATE TABLE t (a int);\nINSERT INTO u VALUES (1);\n", 2, "no CREATE TABLE defined"),
            ("CREATE TABLE t (a int);\nINSERT INTO t VALUES (bogus);\n", 2, "expected a value"),
            ("GRANT ALL ON *.* TO me;\n", 1, "unsupported statement 'GRANT'"),
            ("CREATE TABLE t (a int);\nCREATE TABLE t (b int);\nINSERT INTO t VALUES (--1);\n", 3,
             "expected a value"),
            ("CREATE TABLE t (a int, b text;\n", 1, "unexpected ';' in CREATE TABLE t"),
        ]
        for (i, (text, line, expectation)) in cases.enumerated() {
            let file = try write(text, to: dir, name: "bad\(i).sql")
            let error = #expect(throws: DumpRestoreError.self) {
                try DumpRestorer().restore(files: [file], into: db)
            }
            #expect(error?.file == file)
            #expect(error?.line == line, "case \(i): \(error?.description ?? "")")
            #expect(error?.message.contains(expectation) == true, "case \(i): \(error?.description ?? "")")
            #expect(error?.description.hasPrefix("\(file):\(line): ") == true)
        }
    }

    @Test func mysqlTypesMapToSQLiteAffinities() {
        let cases = ["int": "INTEGER", "BIGINT": "INTEGER", "tinyint": "INTEGER", "double": "REAL",
                     "decimal": "REAL", "float": "REAL", "varchar": "TEXT", "text": "TEXT", "longtext": "TEXT",
                     "datetime": "TEXT", "enum": "TEXT", "blob": "BLOB"]
        for (mysql, sqlite) in cases {
            #expect(DumpRestorer.sqliteAffinity(mysqlType: mysql) == sqlite, "\(mysql)")
        }
    }

    @Test func tokensSpanChunkBoundaries() throws {
        // Many rows with long strings: tokens straddle the 64 KiB read chunks.
        let dir = try TestPaths.tempDir()
        var text = "CREATE TABLE `w` (`i` int, `s` varchar(300));\nINSERT INTO `w` VALUES "
        let n = 3000
        for i in 0..<n {
            if i > 0 { text += "," }
            text += "(\(i),'" + String(repeating: "ab\\'c", count: 20 + i % 37) + "')"
        }
        text += ";\n"
        let file = try write(text, to: dir)
        let db = dir.appendingPathComponent("t.db").path
        let summary = try DumpRestorer().restore(files: [file], into: db)
        #expect(summary.rows(in: "w") == n)
        #expect(try sqlScalar(db, "SELECT SUM(length(s)) FROM w") == (0..<n).reduce(0) { $0 + 4 * (20 + $1 % 37) })
        #expect(try sqlScalar(db, "SELECT SUM(i) FROM w") == n * (n - 1) / 2)
    }
}
