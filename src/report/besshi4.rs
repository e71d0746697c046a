//! 別添4 完了届: the contractor's notice that the month's work is done,
//! with the city's own part (受付, 検査員, 立会人) left as the form has it.
//! kura fills the addressee, the contractor and the work from `[site]` and
//! dates the notice on the day of the report; the day the work was
//! completed is the engineer's to write.

use super::page::{banner, blank_date, date, field, stamps};
use super::MonthlyReport;
use crate::html::escape;
use crate::i18n::Lang;

/// The sheet.
pub fn render(r: &MonthlyReport) -> String {
    let site = &r.site;
    let work = site.work_name.as_deref().map(escape).unwrap_or_else(|| {
        // Without a work name, the system's own name and 保守業務.
        escape(&format!("{}保守業務", site.system))
    });
    format!(
        "<section class=\"sheet besshi4\">\n{banner}<p class=\"tag\">【別添4】</p>\n<h1>完　了　届</h1>\n\
<p class=\"right\">{today}</p>\n\
<p>(あて先) {addressee}</p>\n\
<div class=\"addr\"><p>住　　所　{address}</p><p>商号又は名称　{contractor}</p><p>職 ・ 氏 名　{representative}　　　印</p></div>\n\
<p style=\"margin-top:8mm\">名　称　{work}</p>\n\
<p style=\"margin-top:6mm\">上記役務は、{done}に完了したのでお届けします。</p>\n\
<p>(なお、完了した役務の内容は、作業日誌等にて逐次報告したとおりです。)</p>\n\
<p>対象月：{month}</p>\n\
<p class=\"note\" style=\"margin-top:6mm\">備考　札幌市競争入札参加資格者(物品・役務)は、電子メールによる提出(押印不要)を可とする。送信先等の提出方法は札幌市の指示に従うこと。</p>\n\
<div class=\"ruled\"><p>(以下、札幌市使用欄)</p>\n\
<table class=\"data\" style=\"font-size:9pt\"><tr><th>受付</th><td>{blank}</td><th>完了を確認した職員</th><td style=\"width:50mm\">　　　　　　　　印</td></tr></table>\n\
{stamps}\
<p style=\"margin-top:4mm\">上記のとおり完了届の提出があったので、この役務の履行検査に係る検査員及び立会人については次の者に命じ、{blank}に検査を実施してよろしいか。</p>\n\
<p style=\"margin-top:5mm\">検査員　職　　　　　　　　　氏 名</p>\n\
<p style=\"margin-top:5mm\">立会人　職　　　　　　　　　氏 名</p></div>\n\
</section>\n",
        banner = banner(r, Lang::Ja),
        today = date(r.generated_on),
        addressee = field(site.addressee.as_deref()),
        address = field(site.address.as_deref()),
        contractor = field(site.contractor.as_deref()),
        representative = field(site.representative.as_deref()),
        done = blank_date(r.generated_on),
        month = escape(&r.month_wareki),
        blank = blank_date(r.generated_on),
        stamps = stamps(&["課長", "係長", "係"]),
    )
}
