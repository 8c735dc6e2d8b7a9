"""The words generated charts are made of: chart kinds and their weights, category
dimensions, measures and which dimensions they fit, series names, sources, radar axes and
scatter pairs, in English and Chinese (renderers/chart/spec_source.py draws from them)."""

from __future__ import annotations

from dataclasses import dataclass

KIND_WEIGHTS = {"bar": 10, "hbar": 6, "grouped_bar": 9, "stacked_bar": 7, "line": 8,
                "multi_line": 9, "area": 5, "pie": 7, "donut": 5, "scatter": 7, "radar": 6,
                "bar_line": 6}

MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
MONTHS_ZH = [f"{i}月" for i in range(1, 13)]


@dataclass(frozen=True)
class Dimension:
    en: str
    zh: str
    cats_en: tuple[str, ...]
    cats_zh: tuple[str, ...]
    ordered: bool = False  # time-like: kept in order, good for lines
    dated: bool = False  # its categories carry years


def _years(lo: int, hi: int) -> tuple[str, ...]:
    return tuple(str(y) for y in range(lo, hi + 1))


DIMENSIONS = (
    Dimension("Country", "国家",
              ("China", "India", "United States", "Indonesia", "Brazil", "Nigeria", "Japan",
               "Germany", "Mexico", "France", "Egypt", "Vietnam", "Kenya", "Canada", "Spain"),
              ("中国", "印度", "美国", "印度尼西亚", "巴西", "日本", "德国", "墨西哥", "法国",
               "埃及", "越南", "肯尼亚", "加拿大", "西班牙", "韩国")),
    Dimension("City", "城市",
              ("Tokyo", "Delhi", "Shanghai", "Sao Paulo", "Cairo", "Mumbai", "Beijing",
               "Osaka", "New York", "Lagos", "Paris", "London", "Seoul", "Madrid"),
              ("北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "南京", "西安", "重庆",
               "天津", "苏州", "长沙", "郑州")),
    Dimension("Month", "月份", tuple(MONTHS_EN), tuple(MONTHS_ZH), ordered=True),
    Dimension("Year", "年份", _years(2008, 2024), tuple(f"{y}年" for y in range(2008, 2025)),
              ordered=True, dated=True),
    Dimension("Quarter", "季度",
              tuple(f"Q{q} {y}" for y in (2022, 2023, 2024) for q in range(1, 5)),
              tuple(f"{y}年Q{q}" for y in (2022, 2023, 2024) for q in range(1, 5)),
              ordered=True, dated=True),
    Dimension("Product", "产品",
              ("Laptops", "Phones", "Tablets", "Monitors", "Printers", "Headphones", "Cameras",
               "Keyboards", "Routers", "Speakers"),
              ("笔记本电脑", "手机", "平板电脑", "显示器", "打印机", "耳机", "相机", "键盘",
               "路由器", "音箱")),
    Dimension("Department", "部门",
              ("Sales", "Marketing", "Engineering", "Finance", "Support", "Operations",
               "Legal", "Research"),
              ("销售部", "市场部", "研发部", "财务部", "客服部", "运营部", "法务部", "人事部")),
    Dimension("Region", "地区",
              ("North", "South", "East", "West", "Central", "Northeast", "Southwest"),
              ("华北", "华东", "华南", "华中", "西南", "西北", "东北")),
    Dimension("Fruit", "水果",
              ("Apples", "Bananas", "Oranges", "Grapes", "Mangoes", "Pears", "Peaches",
               "Cherries", "Lemons"),
              ("苹果", "香蕉", "橙子", "葡萄", "芒果", "梨", "桃子", "樱桃", "柠檬")),
    Dimension("Age group", "年龄段",
              ("Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
              ("18岁以下", "18-24岁", "25-34岁", "35-44岁", "45-54岁", "55-64岁", "65岁以上"),
              ordered=True),
    Dimension("Channel", "渠道",
              ("Online store", "Retail", "Wholesale", "Direct sales", "Partners", "Catalog"),
              ("线上商城", "零售门店", "批发", "直销", "合作伙伴", "电话销售")),
)


@dataclass(frozen=True)
class Measure:
    en: str
    zh: str
    unit_en: str
    unit_zh: str
    dist: str


MEASURES = (
    Measure("Revenue", "营业收入", "million USD", "百万美元", "large"),
    Measure("Sales", "销量", "thousand units", "千台", "int"),
    Measure("Market share", "市场份额", "%", "%", "percent"),
    Measure("Growth rate", "增长率", "%", "%", "signed_percent"),
    Measure("Average temperature", "平均气温", "°C", "°C", "temperature"),
    Measure("Population", "人口", "million", "百万人", "decimal"),
    Measure("Net profit", "净利润", "billion CNY", "亿元", "signed_large"),
    Measure("Visitors", "游客人数", "thousands", "万人次", "int"),
    Measure("Rainfall", "降雨量", "mm", "毫米", "decimal"),
    Measure("Orders", "订单数", "", "", "count"),
    Measure("Energy use", "能源消耗", "GWh", "吉瓦时", "large"),
    Measure("Satisfaction", "满意度", "%", "%", "percent"),
)
# Which measures read sensibly against which dimension ("Rainfall by fruit" does not).
DIM_MEASURES = {
    "Country": {"Population", "Growth rate", "Average temperature", "Energy use", "Visitors",
                "Rainfall", "Market share"},
    "City": {"Population", "Average temperature", "Visitors", "Rainfall", "Energy use",
             "Orders", "Growth rate"},
    "Month": {"Revenue", "Sales", "Average temperature", "Rainfall", "Visitors", "Orders",
              "Energy use", "Growth rate", "Net profit", "Satisfaction"},
    "Year": {"Revenue", "Sales", "Population", "Net profit", "Energy use", "Growth rate",
             "Visitors", "Market share", "Orders"},
    "Quarter": {"Revenue", "Sales", "Net profit", "Growth rate", "Orders", "Market share",
                "Satisfaction"},
    "Product": {"Revenue", "Sales", "Market share", "Orders", "Net profit", "Growth rate",
                "Satisfaction"},
    "Department": {"Revenue", "Orders", "Net profit", "Satisfaction", "Energy use",
                   "Growth rate"},
    "Region": {"Revenue", "Sales", "Market share", "Average temperature", "Rainfall",
               "Population", "Growth rate", "Net profit", "Visitors"},
    "Fruit": {"Sales", "Market share", "Orders", "Revenue", "Satisfaction"},
    "Age group": {"Population", "Market share", "Satisfaction", "Visitors", "Orders"},
    "Channel": {"Revenue", "Sales", "Market share", "Orders", "Growth rate", "Satisfaction"},
}
COMMERCIAL = {"Revenue", "Sales", "Market share", "Net profit", "Orders", "Satisfaction",
              "Growth rate", "Energy use"}
SERIES_NAMES = {
    "years": (("2021", "2022", "2023", "2024"), ("2021年", "2022年", "2023年", "2024年")),
    "plan": (("Actual", "Target", "Forecast", "Last year"), ("实际", "目标", "预测", "去年同期")),
    "brands": (("Apple", "Samsung", "Xiaomi", "Huawei", "Lenovo"),
               ("华为", "小米", "联想", "海尔", "比亚迪")),
    "groups": (("Men", "Women", "Urban", "Rural"), ("男性", "女性", "城镇", "农村")),
    "stores": (("Store A", "Store B", "Store C", "Store D"), ("一店", "二店", "三店", "四店")),
}
SOURCES_EN = ("World Bank", "National Bureau of Statistics", "Company annual reports", "OECD",
              "IMF World Economic Outlook", "Eurostat", "U.S. Census Bureau", "Internal survey",
              "UN Population Division")
SOURCES_ZH = ("国家统计局", "公司年报", "世界银行", "行业协会", "中国气象局", "问卷调查",
              "海关总署", "商务部")
RADAR_AXES = (
    (("Price", "Quality", "Design", "Battery", "Camera", "Service", "Speed", "Weight"),
     ("价格", "质量", "外观", "续航", "拍照", "服务", "性能", "重量")),
    (("Reading", "Writing", "Math", "Science", "History", "Art", "Music"),
     ("语文", "写作", "数学", "科学", "历史", "美术", "音乐")),
)
SCATTER_PAIRS = (
    (("GDP per capita (thousand USD)", "人均GDP（千美元）", 1, 60, 1),
     ("Life expectancy (years)", "预期寿命（岁）", 55, 85, 1)),
    (("Advertising spend (million USD)", "广告投入（百万美元）", 1, 40, 1),
     ("Sales (million USD)", "销售额（百万美元）", 10, 400, 0)),
    (("Study hours per week", "每周学习时长（小时）", 0, 40, 0),
     ("Exam score", "考试成绩（分）", 40, 100, 0)),
    (("Temperature (°C)", "气温（°C）", -10, 35, 1),
     ("Ice cream sales (units)", "冰淇淋销量（个）", 20, 600, 0)),
)
