"""Default texts (version 1) of the notice and the commitment, as Jinja2 templates."""

from __future__ import annotations

# Stored templates carry a version so a printed document can always be re-rendered with
# the exact wording the shop received; these constants are the seed for version 1.
TEMPLATE_VERSION = 1

TEAM_NAME = "瓜沥镇综合行政执法队"
TEAM_NAME_EN = "Guali Town Comprehensive Administrative Law Enforcement Team"

# DEMO ONLY: not a real number. Deployments must set the team's real phone in the templates.
DEMO_TEAM_PHONE = "0571-00000000"

NOTICE_TITLE = "户外广告设施和店招店牌规范设置告知书"
NOTICE_TITLE_EN = "Notice on the Proper Setting of Outdoor Advertising Facilities and Shop Signs"

NOTICE_BODY_V1 = """\
编号：{{ notice_number }}

{{ shop_name }}（地址：{{ shop_address }}）：

您好！店招店牌和户外广告是店铺的门面，也关系到过往行人和车辆的安全。为了共同维护安全、整洁的街面环境，现将有关事项告知如下，请您阅知并配合：

一、新设置或更换店招、灯箱、广告牌等设施前，请先到我队登记，说明样式、尺寸和安装位置；已有设施的内容或位置发生变化，也请及时告知。
二、招牌的大小、样式和位置应与所在建筑和街道整体风貌协调，不得遮挡门窗、消防通道和公共设施，不得随意外挑或超出建筑立面。
三、招牌应选用合格材料，由有相应能力的单位安装，做到结构牢固、连接可靠。
四、请定期自查招牌有无破损、歪斜、松动、锈蚀和电线裸露等情况；大风、暴雨等天气前后请重点检查，发现问题及时维修或拆除，必要时先设置临时防护。
五、发光招牌应保持字体完整、亮度均匀；出现断字缺亮或线路故障时，请先关闭招牌电源，修好后再通电使用。
六、招牌的设置人和使用人是招牌安全的责任人，因设置或维护不当造成他人人身或财产损失的，应依法承担相应责任。
七、如需登记、咨询或报修，请联系{{ team_name }}，电话：{{ team_phone }}。扫描本告知书上的二维码，可以查看本店的告知书、承诺书、待整改事项及期限，并上传整改后的照片。

感谢您对街面环境和公共安全工作的理解与支持！

{{ team_name }}
{{ issued_date }}
"""  # noqa: E501 - template lines are paragraphs; wrapping them would change the printed text

COMMITMENT_TITLE = "店招店牌安全责任承诺书"
COMMITMENT_TITLE_EN = "Commitment to the Safety of Shop Signs"

COMMITMENT_BODY_V1 = """\
为落实店招店牌安全管理责任，保障公众人身和财产安全，{{ shop_name }}的责任人作出如下承诺：

一、本店设置的店招、灯箱及其他户外广告设施由本人负责日常安全管理，保持安装牢固、外观整洁。
二、每月至少自查一次，大风、暴雨等天气前后及时检查，发现破损、歪斜、松动、锈蚀或电线裸露等隐患立即处理。
三、接到执法队员告知的隐患后，在规定期限内完成整改，并及时反馈整改照片。
四、发光招牌出现断字缺亮或线路故障时，第一时间关闭招牌电源，修复完好后再通电使用。
五、新设、更换或拆除招牌前，主动向综合行政执法队登记，按规范设置。
六、积极配合执法队员的巡查和检查，如实提供有关情况。

如因本店招牌设置或维护不当造成事故，本人愿依法承担相应责任。本承诺有效期至{{ valid_until }}。

店铺名称：{{ shop_name }}
承诺人：{{ signer_name }}（{{ signer_role }}）
签署日期：{{ signed_date }}
"""
