"""Chinese reference data: cities, the category tree, brands, and the text the generator writes.

Brand names are invented so that synthetic data never reads as a statement about a real company.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    province: str
    tier: int  # 1 一线, 2 新一线, 3 二线, 4 三线, 5 四线及以下
    population: float  # millions, used as the sampling weight


CITIES: tuple[City, ...] = (
    City("北京", "北京", 1, 21.9), City("上海", "上海", 1, 24.9),
    City("广州", "广东", 1, 18.8), City("深圳", "广东", 1, 17.7),
    City("成都", "四川", 2, 21.4), City("重庆", "重庆", 2, 20.0),
    City("杭州", "浙江", 2, 12.5), City("武汉", "湖北", 2, 13.7),
    City("西安", "陕西", 2, 13.0), City("苏州", "江苏", 2, 12.9),
    City("南京", "江苏", 2, 9.5), City("天津", "天津", 2, 13.6),
    City("长沙", "湖南", 2, 10.5), City("郑州", "河南", 2, 12.8),
    City("东莞", "广东", 2, 10.5), City("青岛", "山东", 2, 10.3),
    City("合肥", "安徽", 2, 9.6), City("佛山", "广东", 2, 9.6),
    City("宁波", "浙江", 2, 9.6),
    City("沈阳", "辽宁", 3, 9.1), City("昆明", "云南", 3, 8.5),
    City("济南", "山东", 3, 9.4), City("无锡", "江苏", 3, 7.5),
    City("厦门", "福建", 3, 5.3), City("福州", "福建", 3, 8.4),
    City("温州", "浙江", 3, 9.7), City("哈尔滨", "黑龙江", 3, 9.9),
    City("长春", "吉林", 3, 9.1), City("大连", "辽宁", 3, 7.5),
    City("南宁", "广西", 3, 8.9), City("石家庄", "河北", 3, 11.2),
    City("贵阳", "贵州", 3, 6.2), City("南昌", "江西", 3, 6.5),
    City("泉州", "福建", 3, 8.9), City("金华", "浙江", 3, 7.1),
    City("常州", "江苏", 3, 5.3), City("嘉兴", "浙江", 3, 5.5),
    City("太原", "山西", 3, 5.4), City("惠州", "广东", 3, 6.1),
    City("徐州", "江苏", 3, 9.0),
    City("兰州", "甘肃", 4, 4.4), City("海口", "海南", 4, 2.9),
    City("乌鲁木齐", "新疆", 4, 4.1), City("洛阳", "河南", 4, 7.1),
    City("汕头", "广东", 4, 5.5), City("扬州", "江苏", 4, 4.6),
    City("桂林", "广西", 4, 4.9), City("芜湖", "安徽", 4, 3.7),
    City("赣州", "江西", 4, 9.0), City("呼和浩特", "内蒙古", 4, 3.5),
    City("银川", "宁夏", 4, 2.9), City("西宁", "青海", 4, 2.5),
    City("绵阳", "四川", 4, 4.9), City("襄阳", "湖北", 4, 5.3),
    City("岳阳", "湖南", 4, 5.0), City("三亚", "海南", 4, 1.0),
    City("拉萨", "西藏", 5, 0.9), City("六安", "安徽", 5, 4.4),
    City("曲靖", "云南", 5, 5.8), City("周口", "河南", 5, 9.0),
    City("邵阳", "湖南", 5, 6.6), City("天水", "甘肃", 5, 3.0),
    City("黄冈", "湖北", 5, 5.9), City("南充", "四川", 5, 5.6),
    City("商丘", "河南", 5, 7.8), City("揭阳", "广东", 5, 5.6),
    City("丽江", "云南", 5, 1.3), City("阜阳", "安徽", 5, 8.2),
)  # fmt: skip


@dataclass(frozen=True)
class SubCategory:
    name: str  # category_l2
    median_price: float  # CNY; list prices are lognormal around it
    price_sigma: float
    nouns: tuple[str, ...]
    specs: tuple[str, ...]


def _sub(name: str, median: float, sigma: float, nouns: str, specs: str) -> SubCategory:
    return SubCategory(name, median, sigma, tuple(nouns.split()), tuple(specs.split()))


CATEGORIES: dict[str, tuple[SubCategory, ...]] = {
    "服饰鞋包": (
        _sub("女装", 159, 0.6, "连衣裙 针织开衫 阔腿裤 雪纺衬衫", "修身 宽松 法式 通勤"),
        _sub("男装", 189, 0.6, "T恤 休闲裤 夹克 衬衫", "纯棉 商务 潮流 加绒"),
        _sub("女鞋", 229, 0.6, "小白鞋 高跟鞋 乐福鞋 凉鞋", "真皮 软底 百搭"),
        _sub("箱包", 269, 0.8, "双肩包 托特包 行李箱 斜挎包", "大容量 防水 20寸 轻便"),
    ),
    "数码家电": (
        _sub("手机", 2999, 0.5, "智能手机 5G手机 折叠屏手机", "256GB 512GB 12GB+256GB 曜石黑"),
        _sub("笔记本电脑", 5499, 0.4, "轻薄本 游戏本 商务笔记本", "16英寸 14英寸 32GB内存"),
        _sub("耳机", 299, 0.8, "蓝牙耳机 降噪耳机 头戴式耳机", "主动降噪 长续航 运动款"),
        _sub("智能手表", 999, 0.7, "智能手表 运动手环", "血氧监测 46mm 长续航"),
        _sub("厨房小电", 349, 0.7, "空气炸锅 电饭煲 破壁机 咖啡机", "5L 家用 多功能"),
    ),
    "美妆个护": (
        _sub("护肤", 239, 0.7, "精华液 面霜 保湿水乳 防晒霜", "50ml 补水 修护 敏感肌"),
        _sub("彩妆", 139, 0.6, "口红 粉底液 眼影盘 气垫", "哑光 持妆 滋润"),
        _sub("香水", 459, 0.6, "淡香水 香氛礼盒", "50ml 木质调 花果香"),
        _sub("洗发护发", 69, 0.5, "洗发水 护发素 发膜", "无硅油 控油 500ml"),
    ),
    "食品生鲜": (
        _sub("零食", 39, 0.6, "坚果礼盒 牛肉干 饼干 巧克力", "每日坚果 500g 量贩装"),
        _sub("水果", 69, 0.6, "阳光玫瑰葡萄 赣南脐橙 车厘子 芒果", "5斤装 当季 礼盒装"),
        _sub("茶叶", 199, 0.9, "西湖龙井 普洱茶 铁观音 白茶", "250g 明前 罐装"),
        _sub("粮油调味", 49, 0.6, "五常大米 花生油 酱油 挂面", "5kg 家庭装 非转基因"),
    ),
    "母婴用品": (
        _sub("奶粉", 329, 0.4, "婴儿奶粉 有机奶粉", "1段 2段 3段 800g"),
        _sub("纸尿裤", 129, 0.4, "纸尿裤 拉拉裤", "L码 XL码 超薄"),
        _sub("童装", 99, 0.6, "儿童卫衣 婴儿连体衣 儿童外套", "纯棉 100cm 120cm"),
        _sub("玩具", 129, 0.8, "积木 遥控车 毛绒玩具 早教机", "益智 3-6岁"),
    ),
    "家居家纺": (
        _sub("床品", 299, 0.7, "四件套 蚕丝被 乳胶枕", "全棉 1.8m 60支"),
        _sub("收纳", 49, 0.6, "收纳箱 衣柜收纳袋 桌面置物架", "大号 可折叠"),
        _sub("厨具", 129, 0.7, "不粘锅 刀具套装 保温杯", "不锈钢 28cm"),
        _sub("灯具", 199, 0.7, "吸顶灯 台灯 落地灯", "LED 护眼 智能"),
    ),
    "运动户外": (
        _sub("跑鞋", 499, 0.5, "跑步鞋 缓震跑鞋 竞速跑鞋", "透气 男款 女款"),
        _sub("运动服", 199, 0.6, "速干T恤 运动套装 瑜伽裤", "速干 高弹"),
        _sub("健身器材", 299, 1.0, "哑铃 瑜伽垫 跑步机 筋膜枪", "家用 可调节"),
        _sub("露营装备", 459, 0.8, "帐篷 折叠椅 睡袋 天幕", "3-4人 防雨 便携"),
    ),
    "图书文娱": (
        _sub("童书", 49, 0.6, "绘本 儿童百科 拼音读物", "全10册 注音版"),
        _sub("小说", 39, 0.4, "长篇小说 悬疑小说 科幻小说", "精装 典藏版"),
        _sub("教辅", 35, 0.5, "练习册 考研真题 英语词汇", "2026版 全套"),
        _sub("乐器", 899, 0.9, "尤克里里 电子琴 吉他", "入门 61键 41寸"),
    ),
    "珠宝配饰": (
        _sub("黄金", 2999, 0.7, "黄金手链 足金吊坠 金戒指", "足金999 约3g 古法"),
        _sub("手表", 1899, 0.8, "机械表 石英表", "男士 女士 防水"),
        _sub("饰品", 199, 0.7, "银项链 珍珠耳环 手链", "925银 礼盒装"),
    ),
    "宠物用品": (
        _sub("猫粮", 129, 0.5, "全价猫粮 冻干猫粮", "2kg 成猫 幼猫"),
        _sub("狗粮", 159, 0.5, "全价狗粮", "10kg 中大型犬 小型犬"),
        _sub("宠物玩具", 39, 0.8, "逗猫棒 磨牙玩具 猫爬架", "耐咬 互动"),
    ),
}

L1_NAMES: tuple[str, ...] = tuple(CATEGORIES)

BRANDS: dict[str, tuple[str, ...]] = {
    "服饰鞋包": ("素衣坊", "北纬森林", "拾光衣橱", "青柚", "墨白", "步履轻"),
    "数码家电": ("星耀", "极光科技", "云端", "声动", "锐影", "暖居电器"),
    "美妆个护": ("花间集", "水漾", "颜究所", "植萃堂", "雪肌"),
    "食品生鲜": ("山野鲜", "果然好", "田园记", "茶语山房", "味之源", "粮仓"),
    "母婴用品": ("贝贝熊", "暖暖宝", "小树苗", "乐成长", "亲亲母婴"),
    "家居家纺": ("棉语", "安眠坊", "简居", "木作", "光影"),
    "运动户外": ("疾风", "远山", "跃动", "野径", "力行"),
    "图书文娱": ("墨香书局", "启明文化", "童趣", "知行出版", "弦音"),
    "珠宝配饰": ("金缘", "时光珠宝", "月光饰品", "臻品"),
    "宠物用品": ("喵星球", "汪仔", "萌宠家", "毛孩子"),
}

TITLE_ADJECTIVES = ("2026新款", "经典款", "旗舰", "轻奢", "爆款", "高性价比", "官方正品", "限量版", "")

QUERY_SUFFIXES = ("推荐", "新款", "便宜", "正品", "怎么样", "排行榜", "旗舰店")

REGISTER_CHANNELS = ("app_store", "search_ad", "social", "referral", "organic", "offline")

GENDERS = ("male", "female", "unknown")

EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com", "gmail.com")

PINYIN = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao "
    "xiao ming hua jie ling fang yu xin jia hao wei tian yun lei qing yan bo tao"
).split()

# Mobile prefixes 13x-19x; 6 is rare in practice.
PHONE_SECOND_DIGITS = (3, 4, 5, 7, 8, 9)

_REVIEW_PARTS: dict[int, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    5: (
        ("非常满意", "质量很好", "超出预期", "五星好评", "回购好几次了", "包装精美"),
        (
            "物流很快，第二天就到了",
            "和描述的一模一样",
            "做工很精细",
            "性价比很高",
            "送人很有面子",
            "家人都很喜欢",
        ),
        ("推荐购买！", "会继续支持的。", "值得入手。", "满分！"),
    ),
    4: (
        ("整体不错", "挺好的", "比较满意", "还可以"),
        ("就是物流稍微慢了点", "包装有点简陋", "颜色和图片略有差别", "价格再便宜点就好了"),
        ("总体推荐。", "可以考虑。", "给四星。"),
    ),
    3: (
        ("一般般", "中规中矩", "还行吧", "凑合用"),
        ("质量一般", "和预期有差距", "用几天再看看", "没有想象中好"),
        ("不好不坏。", "就这样吧。"),
    ),
    2: (
        ("不太满意", "有点失望"),
        ("做工比较粗糙", "尺码偏小", "有异味", "客服回复很慢"),
        ("不推荐。", "不会再买了。"),
    ),
    1: (
        ("非常差", "差评", "质量太差了"),
        ("收到就是坏的", "和描述严重不符", "退货很麻烦", "用了一次就坏了"),
        ("大家别买！", "很失望。"),
    ),
}


def review_texts(rating: int) -> list[str]:
    """Every review sentence the generator can write for a rating (opener，detail，closer)."""
    openers, details, closers = _REVIEW_PARTS[rating]
    return [f"{o}，{d}，{c}" for o in openers for d in details for c in closers]


def search_queries(l1: str, sub: SubCategory) -> list[str]:
    """Search phrases a shopper types when looking for something in `sub`."""
    queries = [sub.name, *sub.nouns]
    queries += [f"{noun}{suffix}" for noun in sub.nouns for suffix in QUERY_SUFFIXES]
    queries += [f"{brand} {sub.nouns[0]}" for brand in BRANDS[l1]]
    queries += [f"{noun} {spec}" for noun in sub.nouns for spec in sub.specs]
    return queries


@dataclass(frozen=True)
class Coupon:
    coupon_id: str
    threshold_cents: int  # 满 (minimum gross) for a fixed-amount coupon
    amount_cents: int  # 减 (fixed discount)


# Fixed-amount coupons (满X减Y), best applicable one is used; below the smallest threshold a
# percentage coupon applies instead.
THRESHOLD_COUPONS: tuple[Coupon, ...] = (
    Coupon("CPN-M99-10", 99_00, 10_00),
    Coupon("CPN-M199-25", 199_00, 25_00),
    Coupon("CPN-M299-40", 299_00, 40_00),
    Coupon("CPN-M499-70", 499_00, 70_00),
    Coupon("CPN-M999-150", 999_00, 150_00),
    Coupon("CPN-M1999-300", 1999_00, 300_00),
)
PERCENT_COUPON_ID = "CPN-R92"
PERCENT_COUPON_RATE = 0.08

CAMPAIGN_OBJECTIVES = ("promotion", "reactivation", "new_user", "retention")

CAMPAIGN_THEMES: dict[str, tuple[str, ...]] = {
    "promotion": ("618年中大促", "周末闪购", "夏日清凉节", "品牌特卖日", "超级会员日", "满减狂欢周"),
    "reactivation": ("老朋友回归礼", "好久不见专享券", "唤醒礼包"),
    "new_user": ("新人专享礼包", "首单立减", "新客尝鲜季"),
    "retention": ("会员积分翻倍", "老客感恩回馈", "复购有礼"),
}
