//! The Japanese words of `kura --help`: one row per command and argument,
//! keyed by the command's path (`""` is `kura` itself, `"erase request"`)
//! and the argument's id (the field name in the `Args` struct). A new
//! command or option needs a row here; `tests::every_command_and_argument_has_japanese`
//! fails until it has one. Defaults, environment variables and the values an
//! option accepts are added to the text by `translate_arg`, not written here.

/// Path `"*"`: the arguments clap adds to every command.
pub(super) const ANY: &str = "*";

/// `(command path, None)` is the command's description;
/// `(command path, Some(argument id))` is the argument's. Global options are
/// listed under `""` and apply wherever they are propagated.
pub(super) const HELP: &[(&str, Option<&str>, &str)] = &[
    // kura and its global options
    (
        "",
        None,
        "kura (蔵): マスタデータとログの毎月のスナップショット (暗号化・チェックサム・監査記録付き)。\n\
         標準の age、zstd、tar で復元できる",
    ),
    (
        "",
        Some("policy"),
        "ポリシーファイル [既定: 現在のディレクトリの kura.toml]",
    ),
    (
        "",
        Some("operator"),
        "作業する人の氏名 (ポリシーの [access].operators に登録されていること)",
    ),
    (
        "",
        Some("json"),
        "人が読む文章の代わりに、標準出力に JSON オブジェクトを 1 つ出力する",
    ),
    (
        "",
        Some("lang"),
        "人が読む出力の言語 [既定: システムの言語 (Unix では LANG、Windows では表示言語)]",
    ),
    ("", Some("quiet"), "進行状況を表示しない"),
    (ANY, Some("help"), "ヘルプを表示する"),
    (ANY, Some("version"), "バージョンを表示する"),
    (
        "help",
        None,
        "この一覧、または指定したコマンドのヘルプを表示する",
    ),
    // demo
    (
        "demo",
        None,
        "練習用の環境を作り、その中で月次作業を一通り実行する",
    ),
    (
        "demo",
        Some("dir"),
        "練習用の環境のディレクトリ (kura demo が作ったものだけを置き換える)",
    ),
    (
        "demo",
        Some("size_mib"),
        "合成データの大きさ (メビバイト単位、1 = 1,048,576 バイト)",
    ),
    // policy
    ("policy", None, "ポリシーを確かめて表示する"),
    (
        "policy check",
        None,
        "ポリシーを検証し、実際に使われる設定を表示する",
    ),
    // keys
    ("keys", None, "鍵を作る・確かめる"),
    (
        "keys age",
        None,
        "age の秘密鍵ファイルを作り (--no-passphrase がなければパスフレーズで保護)、\
         その公開鍵 (age1…) を表示する",
    ),
    (
        "keys age",
        Some("out"),
        "秘密鍵の書き込み先 (既にあるファイルは上書きしない)",
    ),
    (
        "keys age",
        Some("no_passphrase"),
        "秘密鍵を暗号化せずに書く (age-keygen と同じ)",
    ),
    (
        "keys recipient",
        None,
        "秘密鍵ファイルの公開鍵 (age1…) を表示する",
    ),
    (
        "keys recipient",
        Some("identity"),
        "秘密鍵ファイル (kura または age-keygen で作ったもの。平文でもパスフレーズ付きでもよい)",
    ),
    (
        "keys sign",
        None,
        "スナップショットと報告書に署名するための minisign の鍵ペア (暗号化なし) を作る",
    ),
    (
        "keys sign",
        Some("secret"),
        "秘密鍵ファイル (バックアップの作業だけが読めるようにしておく)",
    ),
    ("keys sign", Some("public"), "公開鍵ファイル"),
    (
        "keys rotate",
        None,
        "ポリシーが示す署名鍵の更新 (新しい [signing] の鍵、previous_public_keys の旧鍵) を監査ログに記録する",
    ),
    (
        "keys coverage",
        None,
        "受信者ごとに、接続中の保存先のどのスナップショットを開けるかを一覧表示する",
    ),
    ("keys coverage", Some("identity"), "この秘密鍵ファイルの受信者だけを表示する"),
    (
        "keys recipients",
        None,
        "ポリシーの暗号化の受信者の現状 (前回の記録からの追加・廃止) を監査ログに記録する",
    ),
    // volume
    ("volume", None, "バックアップ媒体を登録する"),
    (
        "volume register",
        None,
        "新しいディスク上のディレクトリを媒体として登録し、その ID を表示する",
    ),
    (
        "volume register",
        Some("dir"),
        "ディレクトリ (なければ作る)。例: E:\\kura",
    ),
    ("volume register", Some("label"), "表示名。例: \"HDD1\""),
    // backup, snapshots
    (
        "backup",
        None,
        "すべての取得元のスナップショットを保存先に取る",
    ),
    (
        "backup",
        Some("dest"),
        "この保存先だけ (複数指定可) [既定: すべて]",
    ),
    (
        "snapshots",
        None,
        "保存先にあるスナップショットを一覧表示する",
    ),
    (
        "snapshots",
        Some("dest"),
        "この保存先だけ (複数指定可) [既定: すべて]",
    ),
    // verify
    (
        "verify",
        None,
        "スナップショットを照合する (鍵なしで、または -i で全件を復号して)",
    ),
    (
        "verify",
        Some("snapshot"),
        "スナップショット ID、latest (最新) または all (すべて)",
    ),
    (
        "verify",
        Some("dest"),
        "この保存先だけ (複数指定可) [既定: すべて]",
    ),
    (
        "verify",
        Some("identity"),
        "age の秘密鍵: すべてのファイルを復号して確かめる",
    ),
    (
        "verify",
        Some("against_source"),
        "-i と併せて: 取得元の現在のファイルとも比べ、その後に変わったものを一覧にする",
    ),
    // restore
    (
        "restore",
        None,
        "スナップショットのアーカイブを空のディレクトリへ復元する",
    ),
    (
        "restore",
        Some("snapshot"),
        "スナップショット ID または latest (最新)",
    ),
    (
        "restore",
        Some("to"),
        "復元先のディレクトリ: 空か、まだないこと",
    ),
    (
        "restore",
        Some("identity"),
        "アーカイブを開く age の秘密鍵",
    ),
    (
        "restore",
        Some("archive"),
        "このアーカイブだけ (複数指定可) [既定: すべて]",
    ),
    (
        "restore",
        Some("dest"),
        "この保存先から読む [既定: そのスナップショットがある最初の保存先]",
    ),
    (
        "restore",
        Some("keep_modes"),
        "復元したファイルとディレクトリに、記録された Unix のアクセス権を付ける \
         [既定: ファイル 0600、ディレクトリ 0700]",
    ),
    // handover
    (
        "handover",
        None,
        "次の受託者への引継ぎパッケージ: 作成・検証・受領 (第11条、第12条)",
    ),
    (
        "handover create",
        None,
        "次の受託者へ渡す、署名付きで暗号化した BagIt パッケージ (tar → zstd → age) を作る",
    ),
    (
        "handover create",
        Some("include"),
        "引き継ぐファイルまたはディレクトリ (それぞれパッケージの data/<名前>/ に入る)",
    ),
    (
        "handover create",
        Some("snapshots"),
        "含めるスナップショット (暗号化されたファイルのまま)。latest は最新、all はすべて",
    ),
    (
        "handover create",
        Some("with_audit"),
        "監査ログの書き出し (JSONL 形式と SQLite の写し) も含める",
    ),
    (
        "handover create",
        Some("to"),
        "受取人: age1… で始まる公開鍵、または公開鍵のファイル (複数指定可)",
    ),
    (
        "handover create",
        Some("out"),
        "書き出すパッケージファイル (まだないこと)。その横に同じ名前の .manifest.json を置く",
    ),
    ("handover create", Some("to_org"), "受け取る組織"),
    (
        "handover create",
        Some("description"),
        "パッケージの説明 (BagIt の bag-info.txt に書かれる)",
    ),
    (
        "handover verify",
        None,
        "パッケージを展開せずに完全に検証する (署名、ハッシュ、すべてのファイル)",
    ),
    (
        "handover verify",
        Some("file"),
        "パッケージファイル (その横に .manifest.json とその .minisig があること)",
    ),
    (
        "handover verify",
        Some("identity"),
        "パッケージの受取人の一人である age の秘密鍵",
    ),
    (
        "handover verify",
        Some("sender_key"),
        "送り手の minisign 公開鍵。別の経路で受け取ったもの (署名をこの鍵に限る)",
    ),
    (
        "handover receive",
        None,
        "検証し、空のディレクトリへ展開して、預り証を書く",
    ),
    (
        "handover receive",
        Some("file"),
        "パッケージファイル (その横に .manifest.json とその .minisig があること)",
    ),
    (
        "handover receive",
        Some("identity"),
        "パッケージの受取人の一人である age の秘密鍵",
    ),
    (
        "handover receive",
        Some("into"),
        "展開先のディレクトリ: 空か、まだないこと",
    ),
    (
        "handover receive",
        Some("receiver"),
        "預り証に書く受取人 (氏名と組織)",
    ),
    (
        "handover receive",
        Some("sender_key"),
        "送り手の minisign 公開鍵。別の経路で受け取ったもの (署名をこの鍵に限る)",
    ),
    // prune
    (
        "prune",
        None,
        "保存規則から消去依頼を 1 つ作る (何も削除しない)",
    ),
    (
        "prune",
        Some("dry_run"),
        "依頼する内容とその理由を表示するだけにする",
    ),
    // erase
    (
        "erase",
        None,
        "消去の手続き: 依頼・承認・実施・消去証明書 (第13条)",
    ),
    (
        "erase request",
        None,
        "消去を依頼する (承認されて実施されるまで何も削除しない)",
    ),
    (
        "erase request",
        Some("snapshots"),
        "スナップショット: すべての保存先にあるすべての写しの全ファイル (複数指定可)",
    ),
    ("erase request", Some("files"), "ファイル (複数指定可)"),
    (
        "erase request",
        Some("identities"),
        "crypto-erase (暗号鍵の消去) で消す秘密鍵ファイル。写しをすべて挙げること (複数指定可)",
    ),
    (
        "erase request",
        Some("media"),
        "物理破壊 (destroy) する媒体の説明: メーカー、型番、製造番号 (複数指定可)",
    ),
    (
        "erase request",
        Some("method"),
        "消去方法: overwrite (上書き)、crypto-erase (暗号鍵の消去)、destroy (物理破壊)",
    ),
    (
        "erase request",
        Some("planned"),
        "処理予定日 (YYYY-MM-DD)。その日より前の実施は拒否される",
    ),
    ("erase request", Some("reason"), "消去の理由"),
    (
        "erase approve",
        None,
        "依頼への書面による承認を記録する",
    ),
    (
        "erase approve",
        Some("request"),
        "依頼番号 (ER-YYYY-NNNN)",
    ),
    (
        "erase approve",
        Some("approver"),
        "承認した人 (市の業務主任)",
    ),
    (
        "erase approve",
        Some("key"),
        "承認者の minisign 秘密鍵 (ポリシーの [erasure].approvers に鍵がある場合に必要)",
    ),
    ("erase reject", None, "依頼の却下を記録する"),
    ("erase reject", Some("request"), "依頼番号"),
    ("erase reject", Some("approver"), "却下した人"),
    ("erase reject", Some("reason"), "却下の理由"),
    (
        "erase execute",
        None,
        "承認された依頼を実施する (途中で止まったものは続きから)",
    ),
    ("erase execute", Some("request"), "依頼番号"),
    (
        "erase execute",
        Some("witness"),
        "立会人 (destroy (物理破壊) では必須)",
    ),
    (
        "erase certificate",
        None,
        "実施済みの依頼の消去証明書を発行する",
    ),
    ("erase certificate", Some("request"), "依頼番号"),
    (
        "erase certificate",
        Some("format"),
        "形式: html (A4 で印刷できる)、md または json",
    ),
    (
        "erase certificate",
        Some("out"),
        "出力ファイル [既定: 監査データベースの横の certificates/<依頼番号>.<形式>]",
    ),
    (
        "erase form",
        None,
        "第13条2の書面による申請 (消去依頼書) を出力する (50 件まで A4 1 枚、[signing] があれば署名付き)",
    ),
    ("erase form", Some("request"), "依頼番号 (ER-YYYY-NNNN)"),
    (
        "erase form",
        Some("format"),
        "形式: html (A4 で印刷できる)、md または json",
    ),
    (
        "erase form",
        Some("out"),
        "出力ファイル [既定: 監査データベースの横の requests/<依頼番号>.<形式>]",
    ),
    ("erase list", None, "消去依頼を一覧表示する"),
    // check, report
    (
        "check",
        None,
        "月次点検表のデータバックアップ欄 (正常/指摘)",
    ),
    (
        "report",
        None,
        "市への報告書 (別添3、別添4、別添7)",
    ),
    (
        "report monthly",
        None,
        "月次の様式: 別添3 (保守点検チェックシート兼報告書)、別添4 (完了届)、\
         別添7 (個人情報取扱状況報告書)、続いて証跡の付録",
    ),
    (
        "report monthly",
        Some("month"),
        "対象の月 [既定: 今月]",
    ),
    (
        "report monthly",
        Some("format"),
        "形式: html (A4 で印刷できる)、md または json",
    ),
    (
        "report monthly",
        Some("out"),
        "出力ファイル [既定: 標準出力]。ポリシーに [signing] があれば、その横に署名も書く",
    ),
    // schedule
    (
        "schedule",
        None,
        "毎月の作業を systemd または Windows のタスク スケジューラ用に出力する",
    ),
    (
        "schedule print",
        None,
        "systemd のサービスとタイマー、または schtasks /Create /XML に渡すタスク スケジューラの XML を出力する",
    ),
    (
        "schedule print",
        Some("system"),
        "systemd または windows",
    ),
    (
        "schedule print",
        Some("out"),
        "標準出力の代わりにファイルに書く (Windows の XML は schtasks が求める UTF-16 で。\
         標準出力が端末でなければ Windows では必須)",
    ),
    // completions, man
    (
        "completions",
        None,
        "シェルの補完スクリプトを出力する (英語)",
    ),
    (
        "completions",
        Some("shell"),
        "bash、zsh、fish、powershell または elvish",
    ),
    (
        "man",
        None,
        "マニュアルページ (roff 形式、英語) を出力する",
    ),
    // audit
    ("audit", None, "改ざんを検知できる監査ログ"),
    (
        "audit verify",
        None,
        "ハッシュの連鎖を計算し直し、すべてのチェックポイントを確かめる \
         (スナップショット、ファイル、--checkpoint)",
    ),
    (
        "audit verify",
        Some("checkpoints"),
        "紙の報告書に書かれたチェックポイント (番号:ハッシュ、複数指定可)",
    ),
    ("audit log", None, "イベントを表示する"),
    (
        "audit log",
        Some("since"),
        "この日から (YYYY-MM-DD、その日を含む)",
    ),
    (
        "audit log",
        Some("until"),
        "この日まで (YYYY-MM-DD、その日を含む)",
    ),
    (
        "audit log",
        Some("action"),
        "この操作だけ (記録上の名前。例: backup、verify.full)",
    ),
    (
        "audit export",
        None,
        "監査人のために、すべてのイベントを書き出す",
    ),
    ("audit export", Some("format"), "jsonl または csv"),
    (
        "audit export",
        Some("out"),
        "出力ファイル [既定: 標準出力]",
    ),
    (
        "audit checkpoint",
        None,
        "チェックポイントのイベントを追加し、紙の記録のために 番号:ハッシュ を表示する",
    ),
    (
        "audit recover",
        None,
        "再構築したサーバーで、スナップショットから監査ログを復旧し、記録の欠落を記録する",
    ),
    (
        "audit recover",
        Some("from"),
        "スナップショットID または latest (スナップショットのある最初の保存先の最新)",
    ),
    (
        "audit recover",
        Some("identity"),
        "スナップショットを開く age の秘密鍵ファイル",
    ),
    (
        "audit recover",
        Some("dest"),
        "この保存先から読む [既定: スナップショットのある最初の保存先]",
    ),
    (
        "audit recover",
        Some("failed_at"),
        "サーバーが故障した日時 (分かる範囲で。書いたとおりに記録する)",
    ),
    (
        "audit recover",
        Some("checkpoints"),
        "スナップショットより新しい、紙の報告書のチェックポイント (複数指定可)",
    ),
];

/// The text after the options (examples, exit codes), for the commands that
/// have one in English.
pub(super) const AFTER_HELP: &[(&str, &str)] = &[
    (
        "keys rotate",
        "\
手順:
  1. kura keys sign --secret keys\\kura-2025.key --public keys\\kura-2025.pub
  2. ポリシーの [signing] の secret_key と public_key を新しい鍵にし、
     previous_public_keys = [{ public_key = \"keys\\kura-2024.pub\", until = 2025-04-01 }] を加える
  3. kura keys rotate --operator \"山田 太郎\"   (監査ログに記録され、その月の報告書に載る)",
    ),
    (
        "audit recover",
        "\
例:
  kura audit recover --from latest -i F:\\鍵ファイル.age --failed-at \"2024-06-03 08:30 サーバ起動不能\" \\
       --checkpoint 57:7dad6c5d... --operator \"山田 太郎\"

監査データベースがない (または空の) ときだけ使えます。スナップショットの audit アーカイブから
連鎖を戻し、スナップショットが封印した最後の記録と照合したうえで、audit.recover の記録に
復旧した最後の記録・障害の日時・紙の報告書の新しいチェックポイントを残します。以後
audit verify は、そのチェックポイントだけをサーバー障害で失われた記録として受け入れます。",
    ),
    (
        "",
        "\
はじめに:
  kura demo                                       練習用の環境で月次作業を一通り試す (./kura-demo)
  kura policy check                               kura.toml を検証し、読み取った設定を表示する

毎月:
  kura backup --operator \"山田 太郎\"              登録済みの USB ディスクへスナップショットを取る
  kura check                                      点検表のデータバックアップ欄
  kura report monthly --out 報告書.html           月次の様式 (別添3・4・7)。印刷して押印する
  kura verify -i 鍵ファイル --operator \"山田 太郎\"  復元訓練: すべてのファイルを復号して確かめる

終了コード:
  0  正常: 確かめたものはすべて完全
  1  完全性の問題、または点検での指摘
  2  使い方またはポリシーの誤り
  3  運用上の失敗 (入出力、保存先がない、空き容量の不足、ロック中、鍵)
     または中断 (Ctrl-C、SIGTERM): 書きかけのものは削除される
  4  規則による拒否 (登録されていない媒体、権限のない作業者 など)

環境変数: KURA_POLICY, KURA_OPERATOR, KURA_LANG, KURA_PASSPHRASE,
  KURA_NOW (RFC 3339。リハーサル用で、ポリシーに
  [rehearsal] allow_clock_override = true がある場合のみ)",
    ),
    (
        "backup",
        "\
例:
  kura backup --operator \"山田 太郎\"              すべての保存先へ
  kura backup --operator scheduled-task --quiet   定期実行の作業
  kura backup --dest hdd1 --operator \"山田 太郎\"  一つの保存先だけ

登録された保存先それぞれに、スナップショットを 1 つ (取得元ごとのアーカイブ、
SHA256SUMS、署名) 書き込む。登録されていないディスクがあれば、全体を拒否する (終了コード 4)。",
    ),
    (
        "prune",
        "\
例:
  kura prune --dry-run                保存規則で消去されるものと、その理由
  kura prune --operator \"山田 太郎\"   消去依頼を 1 つ作る (何も削除しない)

続けて: kura erase approve 依頼番号 --approver 氏名、kura erase execute 依頼番号 --witness 氏名",
    ),
    (
        "verify",
        "\
例:
  kura verify
      最新のスナップショットを鍵なしで: チェックサム、メタデータ、署名
  kura verify all
      すべての保存先のすべてのスナップショット
  kura verify -i 鍵ファイル --operator \"山田 太郎\"
      すべてのファイルを復号して確かめる
  kura verify -i 鍵ファイル --against-source --operator \"山田 太郎\"
      取得元の現在のファイルとも比べる

終了コード 0 は完全、1 は指摘あり、3 はディスクがない・鍵が違う。",
    ),
    (
        "restore",
        "\
例:
  kura restore latest --to D:\\復元\\2024-06 -i 鍵ファイル --operator \"山田 太郎\"
  kura restore 20240601T010000Z --archive マスタ --to 復元先 -i 鍵ファイル --operator \"山田 太郎\"

アーカイブはそれぞれ <復元先>/<アーカイブ名>/ に、その MANIFEST.sha256 とともに置かれる。
復元先は空か、まだないこと。問題があれば、書き込んだものはすべて削除する (終了コード 1)。",
    ),
    (
        "erase request",
        "\
例:
  kura erase request --snapshot 20240101T010000Z --method overwrite --planned 2024-07-01 \\
       --reason \"保存期間満了\" --operator \"山田 太郎\"
  kura erase request --identity E:\\鍵\\kura-2024.age --identity F:\\金庫\\kura-2024.age \\
       --method crypto-erase --planned 2024-10-01 --reason \"契約満了\" --operator \"山田 太郎\"
  kura erase request --medium \"USB HDD BUFFALO HD-PCG1.0U3 S/N 12345\" --method destroy \\
       --planned 2024-10-01 --reason \"故障\" --operator \"山田 太郎\"",
    ),
];

/// The placeholders of values (`<FILE>`), by the English name clap shows:
/// the `value_name`, or the argument's id in capitals.
pub(super) const VALUE_NAMES: &[(&str, &str)] = &[
    ("FILE", "ファイル"),
    ("NAME", "名前"),
    ("DIR", "ディレクトリ"),
    ("PATH", "パス"),
    ("TEXT", "説明"),
    ("ID", "ID"),
    ("DATE", "日付"),
    ("ACTION", "操作"),
    ("ORG", "組織"),
    ("RECIPIENT", "公開鍵"),
    ("SEQ:HASH", "番号:ハッシュ"),
    ("YYYY-MM-DD", "YYYY-MM-DD"),
    ("YYYY-MM", "YYYY-MM"),
    ("LANG", "言語"),
    ("REQUEST", "依頼番号"),
    ("APPROVER", "氏名"),
    ("REASON", "理由"),
    ("WITNESS", "氏名"),
    ("LABEL", "表示名"),
    ("METHOD", "方法"),
    ("FORMAT", "形式"),
    ("SYSTEM", "方式"),
    ("SNAPSHOT", "スナップショット"),
    ("SNAPSHOTS", "スナップショット"),
    ("SIZE_MIB", "大きさ"),
    ("SHELL", "シェル"),
    ("RECEIVER", "受取人"),
    ("COMMAND", "コマンド"),
];
